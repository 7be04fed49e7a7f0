using System;
using System.Collections.Generic;
using System.Threading;
using ShardGen.Collectives;
using ShardGen.Devices;

namespace ShardGen;

/// <summary>One piece of a device-to-host download: a device view and the host index its element (0, 0) lands at.</summary>
public readonly record struct HostPiece(MatrixView Source, int HostOffset);

/// <summary>
/// A set of devices that run one sharded model together, with the collectives that connect them.
/// </summary>
public abstract class DeviceMesh : IDisposable
{
    /// <summary>
    /// <paramref name="devices"/> CPU devices in this process, each owning its memory and running its kernels on
    /// its own worker (with <paramref name="threadsPerDevice"/> threads for its GEMMs).
    /// </summary>
    public static DeviceMesh CreateCpu(int devices, int threadsPerDevice = 1)
        => Cpu.CpuDeviceMesh.Create(devices, threadsPerDevice);

    /// <summary>Serializes forward passes on this mesh, so each pass's measured traffic is its own.</summary>
    internal object ExecutionGate { get; } = new();

    private int _disposed;

    /// <summary>True once <see cref="Dispose"/> has run: the devices are stopped and models on this mesh cannot run.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>For <see cref="Dispose"/> overrides: marks the mesh disposed; true only for the first call.</summary>
    protected bool MarkDisposed() => Interlocked.Exchange(ref _disposed, 1) == 0;

    public abstract IReadOnlyList<Device> Devices { get; }

    public int Size => Devices.Count;

    /// <summary>The group of all devices, in rank order.</summary>
    public abstract DeviceGroup World { get; }

    public abstract CollectiveEngine Collectives { get; }

    /// <summary>Measured bytes and calls of every collective run on this mesh.</summary>
    public CollectiveStats Stats => Collectives.Stats;

    private DeviceGrid? _grid;

    /// <summary>The q×q grid view (q² must equal <see cref="Size"/>), created on first use and cached.</summary>
    public DeviceGrid Grid
    {
        get
        {
            if (Volatile.Read(ref _grid) is { } grid) return grid;
            int q = Planning.PlanCost.GridSide(Size);
            if (q == 0)
                throw new InvalidOperationException($"The mesh size {Size} is not square: a q×q device grid needs 1, 4, 9, 16, … devices.");
            Interlocked.CompareExchange(ref _grid, new DeviceGrid(this, q), null);
            return _grid!;
        }
    }

    /// <summary>
    /// Called by every forward pass before anything runs, with its input: a mesh spread over processes checks here
    /// that every process passes the same input. The in-process meshes accept it as it is.
    /// </summary>
    protected internal virtual void VerifyForwardInput(float[,] x, int[]? sequenceLengths)
    {
    }

    /// <summary>
    /// <see cref="VerifyForwardInput(float[,], int[])"/> for a language model's token ids. The in-process meshes accept
    /// them as they are (nothing is copied); a mesh over processes checks them like any input.
    /// </summary>
    protected internal virtual void VerifyForwardInput(int[] tokenIds, int[]? sequenceLengths)
    {
    }

    /// <summary>
    /// Called by a generated <c>Create</c> after its weights passed the shape checks and before anything is uploaded:
    /// a mesh spread over processes checks here that every process holds the same full weights (each uploads only its
    /// own shards of them). The in-process meshes have one copy, so there is nothing to compare.
    /// </summary>
    protected internal virtual void VerifyWeights(ModelPlan plan, IReadOnlyList<LayerWeights?> weights)
    {
    }

    /// <summary>
    /// Copies a result to host memory laid out row-major with <paramref name="hostStride"/> floats between rows.
    /// <paramref name="replicated"/>: every piece holds the whole result (one per device, read one); otherwise the
    /// pieces tile the result. A mesh spread over processes assembles the pieces of other processes here.
    /// </summary>
    protected internal virtual void DownloadToHost(IReadOnlyList<HostPiece> pieces, bool replicated, Span<float> host, int hostStride)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        if (replicated)
        {
            var piece = pieces[0];
            piece.Source.Device.Download(piece.Source, host.Slice(piece.HostOffset), hostStride);
            return;
        }
        for (int i = 0; i < pieces.Count; i++) // not foreach: an interface enumerator would allocate
        {
            var piece = pieces[i];
            if (piece.Source.Rows > 0 && piece.Source.Cols > 0)
                piece.Source.Device.Download(piece.Source, host.Slice(piece.HostOffset), hostStride);
        }
    }

    /// <summary>
    /// Turns the traffic this process measured during one completed forward pass into the mesh's figures. In-process
    /// meshes measure every device already; a mesh spread over processes gathers the other processes' bytes here.
    /// </summary>
    protected internal virtual TrafficReport CompleteTraffic(TrafficReport measured) => measured;

    /// <summary>Waits for every device's queue.</summary>
    public void Synchronize()
    {
        var devices = Devices;
        for (int i = 0; i < devices.Count; i++) devices[i].Synchronize();
    }

    public abstract void Dispose();
}
