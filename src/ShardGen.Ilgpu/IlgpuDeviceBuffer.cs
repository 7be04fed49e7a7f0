using System;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Devices;

namespace ShardGen.Ilgpu;

/// <summary>
/// Float32 memory of one <see cref="IlgpuDevice"/>: an ILGPU <c>MemoryBuffer1D</c> on the device's accelerator,
/// zero-filled. Dispose is ordered after the work already queued on the device (like cudaFreeAsync).
/// </summary>
public sealed class IlgpuDeviceBuffer : DeviceBuffer
{
    private MemoryBuffer1D<float, Stride1D.Dense>? _memory;
    private int _disposed;

    internal IlgpuDeviceBuffer(IlgpuDevice device, MemoryBuffer1D<float, Stride1D.Dense> memory, int length) : base(device, length)
    {
        _memory = memory;
    }

    internal IlgpuDevice Owner => (IlgpuDevice)Device;

    public override bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The whole buffer as an ILGPU view (valid until the buffer is freed, on the device's worker).</summary>
    internal ArrayView<float> View
    {
        get
        {
            var m = Volatile.Read(ref _memory) ?? throw new ObjectDisposedException(nameof(IlgpuDeviceBuffer), $"A buffer of {Device.Name} was used after it was freed.");
            return m.View;
        }
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        CountRelease();
        Owner.ReleaseBuffer(this);
    }

    /// <summary>Frees the accelerator memory now; called on the device's worker, in queue order.</summary>
    internal void Free()
    {
        var m = Interlocked.Exchange(ref _memory, null);
        m?.Dispose();
    }
}
