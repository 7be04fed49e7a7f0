using System;
using System.Collections.Generic;
using ShardGen.Collectives;
using ShardGen.Devices;

namespace ShardGen.Cpu;

/// <summary>CPU devices in this process, each with its own worker thread and memory, joined by in-process collectives.</summary>
public sealed class CpuDeviceMesh : DeviceMesh
{
    private readonly CpuDevice[] _devices;
    private readonly CpuCollectiveEngine _collectives;

    private CpuDeviceMesh(int devices, int threadsPerDevice, bool fitsOnCores)
    {
        _devices = new CpuDevice[devices];
        for (int i = 0; i < devices; i++) _devices[i] = new CpuDevice(i, threadsPerDevice, spinBeforeBlocking: fitsOnCores);
        World = new DeviceGroup("world", _devices);
        _collectives = new CpuCollectiveEngine(new CollectiveStats(devices), this);
    }

    /// <summary>Creates <paramref name="devices"/> CPU devices, each splitting its GEMMs over <paramref name="threadsPerDevice"/> threads.</summary>
    public static CpuDeviceMesh Create(int devices, int threadsPerDevice = 1)
    {
        if (devices < 1) throw new ArgumentOutOfRangeException(nameof(devices), devices, "A mesh needs at least one device.");
        if (threadsPerDevice < 1) throw new ArgumentOutOfRangeException(nameof(threadsPerDevice), threadsPerDevice, "Each device needs at least one thread.");
        return new CpuDeviceMesh(devices, threadsPerDevice, (long)devices * threadsPerDevice <= Environment.ProcessorCount);
    }

    /// <summary>
    /// One of several meshes in this process (the replicas of a <see cref="Training.DataParallelMesh"/>): its workers
    /// spin before blocking only when <paramref name="fitsOnCores"/> says all meshes' workers together fit on the cores.
    /// </summary>
    internal static CpuDeviceMesh Create(int devices, int threadsPerDevice, bool fitsOnCores) =>
        new(devices, threadsPerDevice, fitsOnCores);

    public override IReadOnlyList<Device> Devices => _devices;

    internal IReadOnlyList<CpuDevice> CpuDevices => _devices;

    public override DeviceGroup World { get; }

    public override CollectiveEngine Collectives => _collectives;

    public override void Dispose()
    {
        if (!MarkDisposed()) return;
        // Stop every queue first: a collective still queued on one device needs its peers to drain too.
        foreach (var d in _devices) d.BeginStop();
        foreach (var d in _devices) d.Dispose();
    }
}
