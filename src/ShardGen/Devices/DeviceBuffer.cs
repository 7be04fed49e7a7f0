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
    protected DeviceBuffer(Device device, int length, int counted) : this(device, length, counted, ElementType.Float32) { }

    /// <summary>A buffer of <paramref name="element"/>s; the memory figures count its bytes (two bfloat16 per float's four).</summary>
    protected DeviceBuffer(Device device, int length, int counted, ElementType element)
    {
        Device = device;
        Length = length;
        Element = element;
        Account = new BufferAccount(device.Counters, element == ElementType.BFloat16 ? (counted + 1L) / 2 : counted);
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

    /// <summary>Number of elements (float32 unless <see cref="Element"/> says otherwise).</summary>
    public int Length { get; }

    /// <summary>What each element is: float32 for everything a device allocates; bfloat16 for BF16 weights kept in place.</summary>
    public ElementType Element { get; }

    /// <summary>True once disposed: such a buffer must not be used again.</summary>
    public abstract bool IsDisposed { get; }

    /// <summary>The whole buffer as a row-major matrix view.</summary>
    public MatrixView AsMatrix(int rows, int cols) => new(this, 0, rows, cols, cols);

    public abstract void Dispose();
}
