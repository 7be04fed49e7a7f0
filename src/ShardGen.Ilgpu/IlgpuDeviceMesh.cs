using System;
using System.Collections.Generic;
using System.Linq;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using ShardGen.Collectives;
using ShardGen.Devices;

namespace ShardGen.Ilgpu;

/// <summary>
/// A mesh of ILGPU accelerators in this process: swap <c>DeviceMesh.CreateCpu(4)</c> for
/// <c>IlgpuDeviceMesh.Create(IlgpuBackend.Cuda, devices: 4)</c> and the generated model code runs unchanged.
/// Each device has its own accelerator (its own memory, stream and worker thread); the collectives copy between
/// accelerators peer-to-peer where the pair allows it and through pinned host memory otherwise, with the CPU
/// backend's ring algorithms and byte counts.
/// </summary>
public sealed class IlgpuDeviceMesh : DeviceMesh
{
    private readonly IlgpuDevice[] _devices;
    private readonly IlgpuCollectiveEngine _collectives;
    private readonly IlgpuTransfer[,] _transfers;

    private IlgpuDeviceMesh(IlgpuBackend backend, IlgpuDevice[] devices, IlgpuTransfer[,] transfers)
    {
        Backend = backend;
        _devices = devices;
        _transfers = transfers;
        World = new DeviceGroup("world", _devices);
        _collectives = new IlgpuCollectiveEngine(new CollectiveStats(devices.Length), this);
    }

    /// <summary>
    /// Creates <paramref name="devices"/> devices on <paramref name="backend"/>. CUDA and OpenCL give device i the
    /// physical device i mod (devices found), so several devices may share one GPU (for testing); CPU creates ILGPU
    /// CPU accelerators (emulators, <paramref name="cpuThreadsPerGroup"/> threads per group: 16, 64 or 256).
    /// Throws <see cref="InvalidOperationException"/> when the backend has no device here.
    /// </summary>
    public static IlgpuDeviceMesh Create(IlgpuBackend backend, int devices, int cpuThreadsPerGroup = 16) =>
        Create(backend, devices, cpuThreadsPerGroup, stageEverything: false);

    /// <summary><paramref name="stageEverything"/>: every pair copies through host memory (tests the staged path anywhere).</summary>
    internal static IlgpuDeviceMesh Create(IlgpuBackend backend, int devices, int cpuThreadsPerGroup, bool stageEverything)
    {
        if (devices < 1) throw new ArgumentOutOfRangeException(nameof(devices), devices, "A mesh needs at least one device.");
        if (cpuThreadsPerGroup is not (16 or 64 or 256))
            throw new ArgumentOutOfRangeException(nameof(cpuThreadsPerGroup), cpuThreadsPerGroup, "The CPU accelerator's group is 16, 64 or 256 threads (GEMM groups of 4×4, 8×8 or 16×16).");
        Context context = backend switch
        {
            IlgpuBackend.Cpu => Context.Create(b => b.CPU(CpuDevice(cpuThreadsPerGroup))),
            IlgpuBackend.Cuda => Context.Create(b => b.Cuda()),
            IlgpuBackend.OpenCL => Context.Create(b => b.OpenCL()),
            _ => throw new ArgumentOutOfRangeException(nameof(backend), backend, "Unknown ILGPU backend."),
        };
        // Each device's worker holds the context and lets go when it exits; this method's own hold ends below.
        var lease = new IlgpuContextLease(context);
        var created = new List<IlgpuDevice>();
        try
        {
            var physical = PhysicalDevices(context, backend);
            if (physical.Count == 0)
                throw new InvalidOperationException($"ILGPU found no {backend} device on this machine (is the {(backend == IlgpuBackend.Cuda ? "NVIDIA driver" : "OpenCL runtime")} installed?). IlgpuBackend.Cpu runs anywhere.");
            string prefix = backend switch { IlgpuBackend.Cpu => "ilgpu-cpu", IlgpuBackend.Cuda => "ilgpu-cuda", _ => "ilgpu-opencl" };
            for (int i = 0; i < devices; i++)
            {
                var device = physical[i % physical.Count];
                created.Add(new IlgpuDevice(i, $"{prefix}:{i}", lease, () => backend == IlgpuBackend.Cpu
                    ? ((CPUDevice)device).CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel)
                    : device.CreateAccelerator(context)));
            }
            var transfers = ChooseTransfers(backend, created, stageEverything);
            return new IlgpuDeviceMesh(backend, created.ToArray(), transfers);
        }
        catch
        {
            foreach (var d in created) d.BeginStop();
            foreach (var d in created) d.Dispose();
            throw;
        }
        finally
        {
            lease.Release();
        }
    }

    private static CPUDevice CpuDevice(int threadsPerGroup) => threadsPerGroup switch
    {
        16 => CPUDevice.Default,                 // 4 threads per warp × 4 warps
        64 => new CPUDevice(8, 8, 1),
        _ => new CPUDevice(16, 16, 1),
    };

    private static IReadOnlyList<ILGPU.Runtime.Device> PhysicalDevices(Context context, IlgpuBackend backend)
    {
        var found = new List<ILGPU.Runtime.Device>();
        switch (backend)
        {
            case IlgpuBackend.Cpu:
                foreach (var d in context.GetCPUDevices()) found.Add(d);
                return found.Take(1).ToArray();
            case IlgpuBackend.Cuda:
                foreach (var d in context.GetCudaDevices()) found.Add(d);
                return found;
            default:
                foreach (var d in context.GetCLDevices()) found.Add(d);
                // GPUs before CPU OpenCL drivers.
                return found.OrderBy(d => d.AcceleratorType == AcceleratorType.CPU ? 1 : 0).ToArray();
        }
    }

    /// <summary>
    /// CPU accelerators share host memory: every pair copies directly. CUDA pairs copy directly where peer access can
    /// be enabled both ways, else through host memory; OpenCL contexts cannot read each other's memory: staged.
    /// </summary>
    private static IlgpuTransfer[,] ChooseTransfers(IlgpuBackend backend, IReadOnlyList<IlgpuDevice> devices, bool stageEverything)
    {
        int n = devices.Count;
        var t = new IlgpuTransfer[n, n];
        for (int i = 0; i < n; i++)
        {
            t[i, i] = IlgpuTransfer.PeerToPeer;
            // The choice needs both directions of a pair, so it is the same either way: probe each pair once.
            for (int j = i + 1; j < n; j++)
                t[i, j] = t[j, i] = stageEverything ? IlgpuTransfer.StagedThroughHost : ChooseTransfer(backend, devices[i], devices[j]);
        }
        return t;
    }

    private static IlgpuTransfer ChooseTransfer(IlgpuBackend backend, IlgpuDevice x, IlgpuDevice y) => backend switch
    {
        IlgpuBackend.Cpu => IlgpuTransfer.PeerToPeer,
        // CUDA peer access is enabled one direction at a time.
        IlgpuBackend.Cuda => x.TryEnablePeerAccess(y) && y.TryEnablePeerAccess(x) ? IlgpuTransfer.PeerToPeer : IlgpuTransfer.StagedThroughHost,
        _ => IlgpuTransfer.StagedThroughHost,
    };

    public IlgpuBackend Backend { get; }

    /// <summary>How collectives copy from device <paramref name="from"/> to device <paramref name="to"/> (ranks).</summary>
    public IlgpuTransfer TransferBetween(int from, int to) => _transfers[from, to];

    public override IReadOnlyList<ShardGen.Devices.Device> Devices => _devices;

    internal IReadOnlyList<IlgpuDevice> IlgpuDevices => _devices;

    public override DeviceGroup World { get; }

    public override CollectiveEngine Collectives => _collectives;

    public override string ToString() =>
        $"ILGPU {Backend} mesh of {Size}: " + string.Join(", ", _devices.Select(d => $"{d.Name} ({d.AcceleratorName})"));

    public override void Dispose()
    {
        if (!MarkDisposed()) return;
        // Stop every queue first: a collective still queued on one device needs its peers to drain too.
        foreach (var d in _devices) d.BeginStop();
        foreach (var d in _devices) d.Dispose(); // the last worker to exit disposes the context
    }
}
