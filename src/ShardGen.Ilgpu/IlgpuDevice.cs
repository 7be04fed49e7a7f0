using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Cpu;
using ShardGen.Devices;
using Device = ShardGen.Devices.Device;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

/// <summary>
/// A device backed by one ILGPU <see cref="Accelerator"/> (a CUDA GPU, an OpenCL device or ILGPU's CPU
/// accelerator). Like the CPU backend, calls are checked at once and queued on a dedicated worker thread, which
/// owns the accelerator (so a CUDA context is always current where it is used) and launches the kernels on the
/// accelerator's default stream; <see cref="Synchronize"/> and <see cref="Download"/> wait for both. A failure
/// while running is kept and rethrown by the next Synchronize or Download as a <see cref="DeviceKernelException"/>.
/// </summary>
public sealed partial class IlgpuDevice : Device
{
    private readonly IlgpuWorker _worker;
    private readonly WorkerLifetime _lifetime;
    private readonly string _name;

    internal IlgpuDevice(int rank, string name, IlgpuContextLease context, Func<Accelerator> createAccelerator) : base(rank)
    {
        _name = name;
        _worker = new IlgpuWorker(name, context);
        _lifetime = new WorkerLifetime(_worker);
        try
        {
            var worker = _worker;
            Invoke(() =>
            {
                worker.Accelerator = createAccelerator();
                worker.Kernels = new DeviceKernelSet(worker.Accelerator);
                AcceleratorName = worker.Accelerator.Name;
                AcceleratorType = worker.Accelerator.AcceleratorType;
                MaxGroupSize = worker.Accelerator.MaxNumThreadsPerGroup;
                return 0;
            });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>"ilgpu-cpu:0", "ilgpu-cuda:1", …</summary>
    public override string Name => _name;

    /// <summary>The accelerator's own description (the GPU's name, "CPUAccelerator", …).</summary>
    public string AcceleratorName { get; private set; } = "";

    public AcceleratorType AcceleratorType { get; private set; }

    /// <summary>Largest group the accelerator runs; sets the default GEMM group (≤ 16×16) and the row kernels' group.</summary>
    public int MaxGroupSize { get; private set; }

    internal bool IsWorkerThread => _worker.IsCurrentThread;

    /// <summary>The worker's thread (tests check that it ends).</summary>
    internal Thread WorkerThread => _worker.Thread;

    /// <summary>Memory buffers of this device not yet freed, whoever holds them.</summary>
    internal int HeldBuffers => _worker.HeldBuffers;

    internal Accelerator Accelerator => _worker.Accelerator ?? throw new InvalidOperationException($"{Name} has no accelerator.");

    internal AcceleratorStream Stream => Accelerator.DefaultStream;

    /// <summary>
    /// The GEMM's group shape (threads along N, along M; see <see cref="DeviceKernelSet.GemmGroup"/>). A tuning
    /// hook for the GPU check and the tests: set on the worker, so it applies from the next call on.
    /// </summary>
    internal (int X, int Y) GemmGroup
    {
        get => Invoke(() => KernelSet.GemmGroup);
        set => Invoke(() =>
        {
            KernelSet.GemmGroup = value;
            return 0;
        });
    }

    internal DeviceKernelSet KernelSet => _worker.Kernels ?? throw new InvalidOperationException($"{Name} has no kernels.");

    // ------------------------------------------------------------------ queue

    /// <summary>Appends work to the queue; it runs after everything enqueued before it.</summary>
    internal void Enqueue(Action work) => _worker.Enqueue(work);

    /// <summary>Runs <paramref name="work"/> on the worker after the queued work and waits for it; its exception is rethrown here.</summary>
    private T Invoke<T>(Func<T> work)
    {
        if (IsWorkerThread)
            throw new InvalidOperationException($"Device {Name} cannot wait for its own queue from one of its kernels.");
        using var done = new ManualResetEventSlim();
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        Enqueue(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        failure?.Throw();
        return result;
    }

    public override void Synchronize()
    {
        if (!_worker.TryEnqueue(() => Stream.Synchronize())) return; // stopped: nothing left to wait for
        _worker.WaitIdle();
        _worker.ThrowPendingError();
    }

    // ------------------------------------------------------------------ memory

    public override DeviceBuffer Allocate(int elements)
    {
        CheckAllocate(elements);
        var worker = _worker;
        var memory = Invoke<MemoryBuffer1D<float, Stride1D.Dense>?>(() =>
        {
            var m = Accelerator.Allocate1D<float>(Math.Max(elements, 1));
            m.View.MemSetToZero(Stream);
            Stream.Synchronize();
            if (worker.TryHold(m)) return m;
            m.Dispose();
            return null;
        }) ?? throw new ObjectDisposedException(Name, $"Device {Name} was disposed (its mesh was disposed).");
        return new IlgpuDeviceBuffer(this, memory, _worker, elements);
    }

    /// <summary>Device scratch of at least <paramref name="floats"/> (pack/unpack staging, attention scores). Worker only.</summary>
    internal ArrayView<float> Scratch(long floats) => Grow(ref _worker.ScratchBuffer, floats);

    /// <summary>The receive slots of the collectives (peers write into them). Grown only by this worker, before a collective's members meet.</summary>
    internal ArrayView<float> ReceiveSlots(long floats) => Grow(ref _worker.ReceiveBuffer, floats);

    internal ArrayView<float> ReceiveSlots() => _worker.ReceiveBuffer!.View;

    private ArrayView<float> Grow(ref MemoryBuffer1D<float, Stride1D.Dense>? buffer, long floats)
    {
        floats = Math.Max(floats, 1);
        if (buffer == null || buffer.Length < floats)
        {
            Stream.Synchronize();
            long size = Math.Max(floats, buffer == null ? 0 : 2 * buffer.Length);
            buffer?.Dispose();
            buffer = null;
            buffer = Accelerator.Allocate1D<float>(size);
        }
        return buffer.View;
    }

    internal static ArrayView<float> ViewOf(MatrixView m) => ((IlgpuDeviceBuffer)m.Buffer).View;

    internal static ViewLayout Layout(MatrixView m) => new(m.Offset, m.Stride, m.Cols);

    // ------------------------------------------------------------------ kernels

    public override void Gemm(MatrixView a, bool transposeA, MatrixView b, bool transposeB, MatrixView c,
        bool accumulate, MatrixView? bias = null, Activation activation = Activation.None)
    {
        CheckGemm(a, transposeA, b, transposeB, c, bias, activation, out int aK);
        Enqueue(() =>
        {
            var p = new GemmParams
            {
                M = c.Rows, N = c.Cols, K = aK,
                AOffset = a.Offset, Lda = a.Stride, TransposeA = transposeA ? 1 : 0,
                BOffset = b.Offset, Ldb = b.Stride, BBatchDivisor = 1, TransposeB = transposeB ? 1 : 0,
                COffset = c.Offset, Ldc = c.Stride,
                Accumulate = accumulate ? 1 : 0,
                HasBias = bias.HasValue ? 1 : 0, BiasOffset = bias?.Offset ?? 0, Activation = (int)activation,
            };
            KernelSet.Gemm(Stream, p, ViewOf(a), ViewOf(b), ViewOf(c), bias is { } bb ? ViewOf(bb) : ViewOf(c), batch: 1);
        });
    }

    public override void BiasActivation(MatrixView c, MatrixView? bias, Activation activation)
    {
        CheckBiasActivation(c, bias, activation);
        Enqueue(() =>
        {
            var p = new BiasActivationParams
            {
                C = Layout(c), HasBias = bias.HasValue ? 1 : 0, BiasOffset = bias?.Offset ?? 0, Activation = (int)activation,
            };
            KernelSet.BiasActivation(Stream, p, ViewOf(c), bias is { } bb ? ViewOf(bb) : ViewOf(c), c.Rows);
        });
    }

    public override void Copy(MatrixView source, MatrixView destination)
    {
        CheckElementwise(source, destination, "Copy");
        Enqueue(() => KernelSet.Copy(Stream, ViewOf(source), Layout(source), ViewOf(destination), Layout(destination), source.Rows));
    }

    public override void Add(MatrixView source, MatrixView destination)
    {
        CheckElementwise(source, destination, "Add");
        Enqueue(() => KernelSet.Add(Stream, ViewOf(source), Layout(source), ViewOf(destination), Layout(destination), source.Rows));
    }

    // ------------------------------------------------------------------ lifetime

    /// <summary>Stops accepting work; the worker drains what is queued, frees everything, then exits.</summary>
    internal void BeginStop() => _worker.BeginStop();

    public override void Dispose()
    {
        if (_worker.Stop()) _lifetime.Disown();
    }
}
