using System;
using System.Threading;

namespace ShardGen.Devices;

/// <summary>
/// Memory owned by one device. Host code never reads it directly: data enters with
/// <see cref="Device.Upload"/>, leaves with <see cref="Device.Download"/>, and crosses devices only through
/// <see cref="ShardGen.Collectives.CollectiveEngine"/>.
/// </summary>
public abstract class DeviceBuffer : IDisposable
{
    private int _parked; // 1 while an activation pool keeps the buffer between passes

    protected DeviceBuffer(Device device, int length)
    {
        Device = device;
        Length = length;
        device.CountBuffer(length, +1);
    }

    /// <summary>Backends call this once, when the buffer is disposed, to keep <see cref="Device.AllocatedBytes"/> true.</summary>
    protected void CountRelease()
    {
        if (Interlocked.Exchange(ref _parked, 0) == 1) Device.CountPooled(Length, -1);
        else Device.CountBuffer(Length, -1);
    }

    /// <summary>
    /// An activation pool keeps this buffer for the next pass: it moves from <see cref="Device.AllocatedBytes"/>
    /// to <see cref="Device.PooledBytes"/> (memory in use vs memory cached), and back when it is taken again.
    /// </summary>
    internal void Park(bool parked)
    {
        if (Interlocked.Exchange(ref _parked, parked ? 1 : 0) == (parked ? 1 : 0)) return;
        Device.CountBuffer(Length, parked ? -1 : +1);
        Device.CountPooled(Length, parked ? +1 : -1);
    }

    /// <summary>The device that owns this memory.</summary>
    public Device Device { get; }

    /// <summary>Number of float32 elements.</summary>
    public int Length { get; }

    /// <summary>True once disposed: such a buffer must not be used again.</summary>
    public abstract bool IsDisposed { get; }

    /// <summary>The whole buffer as a row-major matrix view.</summary>
    public MatrixView AsMatrix(int rows, int cols) => new(this, 0, rows, cols, cols);

    public abstract void Dispose();
}
