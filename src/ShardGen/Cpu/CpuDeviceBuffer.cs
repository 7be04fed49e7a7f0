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

    internal CpuDeviceBuffer(CpuDevice device, NativeAllocation allocation, CpuMemoryRegistry registry, int length, int counted,
        ElementType element = ElementType.Float32) : base(device, length, counted, element)
    {
        _owner = new CpuMemoryOwner(allocation, registry, Account);
    }

    internal CpuDevice Owner => (CpuDevice)Device;

    /// <summary>Address of the view's first element (resolved when the work runs).</summary>
    internal static float* Pointer(MatrixView view) => ((CpuDeviceBuffer)view.Buffer).Data + view.Offset;

    /// <summary>Address of a bfloat16 view's first element (a BF16 weight kept in place).</summary>
    internal static ushort* BFloat16Pointer(MatrixView view) => ((CpuDeviceBuffer)view.Buffer).BFloat16Data + view.Offset;

    /// <summary>True when the view's elements are bfloat16.</summary>
    internal static bool IsBFloat16(MatrixView view) => view.Buffer.Element == ElementType.BFloat16;

    internal NativeAllocation Allocation => _owner.Allocation;

    public override bool IsDisposed => System.Threading.Volatile.Read(ref _disposed) != 0;

    /// <summary>Start of the memory; valid until the buffer is freed.</summary>
    internal float* Data
    {
        get
        {
            // Enqueue-time checks keep bfloat16 views out of float kernels; this is the last line behind them.
            if (Element != ElementType.Float32)
                throw new InvalidOperationException($"A {Element} buffer of {Device.Name} was read as float32.");
            return Start;
        }
    }

    /// <summary>Start of a bfloat16 buffer's memory.</summary>
    internal ushort* BFloat16Data => Element == ElementType.BFloat16 ? (ushort*)Start
        : throw new InvalidOperationException($"A {Element} buffer of {Device.Name} was read as bfloat16.");

    private float* Start
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
