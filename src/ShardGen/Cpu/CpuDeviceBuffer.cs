using System;
using System.Runtime.InteropServices;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Cpu;

/// <summary>
/// Float32 memory of one <see cref="CpuDevice"/>: 64-byte aligned native memory (cache-line and zmm aligned,
/// never moved by the GC), zero-filled. Dispose is ordered after the work already queued on the device,
/// like cudaFreeAsync, so a buffer can be released right after the kernels that use it are enqueued.
/// </summary>
public sealed unsafe class CpuDeviceBuffer : DeviceBuffer
{
    private nint _data;
    private int _disposed;

    internal CpuDeviceBuffer(CpuDevice device, int length) : base(device, length)
    {
        // Never a zero-byte request: AlignedAlloc(0) may return null.
        nuint bytes = (nuint)Math.Max(length, 16) * sizeof(float);
        var p = NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        _data = (nint)p;
    }

    internal CpuDevice Owner => (CpuDevice)Device;

    public override bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Start of the memory; valid until the buffer is freed.</summary>
    internal float* Data
    {
        get
        {
            float* p = (float*)Volatile.Read(ref _data);
            if (p == null) throw new ObjectDisposedException(nameof(CpuDeviceBuffer), $"A buffer of {Device.Name} was used after it was freed.");
            return p;
        }
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        CountRelease();
        Owner.ReleaseBuffer(this);
    }

    /// <summary>Frees the memory now; called by the device in queue order (or at device shutdown).</summary>
    internal void Free()
    {
        nint p = Interlocked.Exchange(ref _data, 0);
        if (p != 0) NativeMemory.AlignedFree((void*)p);
    }
}
