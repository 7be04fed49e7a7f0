using System;
using ShardGen.Devices;

namespace ShardGen.Cpu;

/// <summary>
/// Float32 memory of one <see cref="CpuDevice"/>: 64-byte aligned native memory, zero-filled. Dispose is ordered
/// after the work already queued on the device, like cudaFreeAsync, so a buffer can be released right after the
/// kernels that use it are enqueued. A buffer dropped without Dispose is freed when it is collected.
/// </summary>
public sealed unsafe class CpuDeviceBuffer : DeviceBuffer
{
    private readonly CpuMemoryOwner _owner;
    private int _disposed;

    internal CpuDeviceBuffer(CpuDevice device, NativeAllocation allocation, CpuMemoryRegistry registry, int length) : this(device, allocation, registry, length, length) { }

    internal CpuDeviceBuffer(CpuDevice device, NativeAllocation allocation, CpuMemoryRegistry registry, int length, int counted) : base(device, length, counted)
    {
        _owner = new CpuMemoryOwner(allocation, registry, Account);
    }

    internal CpuDevice Owner => (CpuDevice)Device;

    /// <summary>Address of the view's first element (resolved when the work runs).</summary>
    internal static float* Pointer(MatrixView view) => ((CpuDeviceBuffer)view.Buffer).Data + view.Offset;

    internal NativeAllocation Allocation => _owner.Allocation;

    public override bool IsDisposed => System.Threading.Volatile.Read(ref _disposed) != 0;

    /// <summary>Start of the memory; valid until the buffer is freed.</summary>
    internal float* Data
    {
        get
        {
            float* p = _owner.Allocation.Data;
            if (p == null) throw new ObjectDisposedException(nameof(CpuDeviceBuffer), $"A buffer of {Device.Name} was used after it was freed.");
            return p;
        }
    }

    public override void Dispose()
    {
        if (System.Threading.Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _owner.Disown();
        CountRelease();
        Owner.ReleaseBuffer(this);
    }
}
