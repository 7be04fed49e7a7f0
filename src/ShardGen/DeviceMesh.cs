using System;
using System.Collections.Generic;
using ShardGen.Collectives;
using ShardGen.Devices;

namespace ShardGen;

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

    public abstract IReadOnlyList<Device> Devices { get; }

    public int Size => Devices.Count;

    /// <summary>The group of all devices, in rank order.</summary>
    public abstract DeviceGroup World { get; }

    public abstract CollectiveEngine Collectives { get; }

    /// <summary>Measured bytes and calls of every collective run on this mesh.</summary>
    public CollectiveStats Stats => Collectives.Stats;

    /// <summary>The q×q grid view (q² must equal <see cref="Size"/>), created once and cached.</summary>
    public abstract DeviceGrid Grid { get; }

    /// <summary>Waits for every device's queue.</summary>
    public void Synchronize()
    {
        foreach (var d in Devices) d.Synchronize();
    }

    public abstract void Dispose();
}
