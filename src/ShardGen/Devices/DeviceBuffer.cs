using System;

namespace ShardGen.Devices;

/// <summary>
/// Memory owned by one device. Host code never reads it directly: data enters with
/// <see cref="Device.Upload"/>, leaves with <see cref="Device.Download"/>, and crosses devices only through
/// <see cref="ShardGen.Collectives.CollectiveEngine"/>.
/// </summary>
public abstract class DeviceBuffer : IDisposable
{
    protected DeviceBuffer(Device device, int length) : this(device, length, length) { }

    /// <summary>A buffer of which <paramref name="counted"/> elements are the device's memory figures (adopted memory a strided view spans only in part).</summary>
    protected DeviceBuffer(Device device, int length, int counted)
    {
        Device = device;
        Length = length;
        Account = new BufferAccount(device.Counters, counted);
    }

    /// <summary>This buffer's entry in its device's figures; a backend's finalizable memory owner releases it too.</summary>
    internal BufferAccount Account { get; }

    /// <summary>Backends call this when the buffer is disposed, to keep <see cref="Device.AllocatedBytes"/> true (later calls do nothing).</summary>
    protected void CountRelease() => Account.Release();

    /// <summary>
    /// An activation pool keeps this buffer for the next pass: it moves from <see cref="Device.AllocatedBytes"/>
    /// to <see cref="Device.PooledBytes"/> (memory in use vs memory cached), and back when it is taken again.
    /// </summary>
    internal void Park(bool parked) => Account.Park(parked);

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
