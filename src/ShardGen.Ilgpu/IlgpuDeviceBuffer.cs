using System;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Devices;

namespace ShardGen.Ilgpu;

/// <summary>
/// Float32 memory of one <see cref="IlgpuDevice"/>: an ILGPU <c>MemoryBuffer1D</c> on the device's accelerator,
/// zero-filled. Dispose is ordered after the work already queued on the device (like cudaFreeAsync); a buffer dropped
/// without Dispose is freed the same way once collected.
/// </summary>
public sealed class IlgpuDeviceBuffer : DeviceBuffer
{
    private readonly IlgpuMemoryOwner _owner;
    private int _disposed;

    internal IlgpuDeviceBuffer(IlgpuDevice device, MemoryBuffer1D<float, Stride1D.Dense> memory, IlgpuWorker worker, int length) : base(device, length)
    {
        _owner = new IlgpuMemoryOwner(memory, worker, Account);
    }

    public override bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The whole buffer as an ILGPU view (valid until the buffer is freed, on the device's worker).</summary>
    internal ArrayView<float> View
    {
        get
        {
            var m = _owner.Memory;
            if (IsDisposed || m.IsDisposed)
                throw new ObjectDisposedException(nameof(IlgpuDeviceBuffer), $"A buffer of {Device.Name} was used after it was freed.");
            return m.View;
        }
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _owner.Release(disposing: true);
    }
}

/// <summary>
/// Finalizable owner of one <see cref="IlgpuDeviceBuffer"/>'s memory, kept small so a dropped buffer does not drag
/// its device's graph through an extra collection. Freeing is queued on the device's worker, the thread that owns the
/// accelerator, in order after the work already queued; the finalizer touches only the worker's queue and the
/// account, which are never finalized (the ILGPU buffer itself stays reachable from the worker until freed).
/// </summary>
internal sealed class IlgpuMemoryOwner(MemoryBuffer1D<float, Stride1D.Dense> memory, IlgpuWorker worker, BufferAccount account)
{
    public MemoryBuffer1D<float, Stride1D.Dense> Memory => memory;

    public void Release(bool disposing)
    {
        if (disposing) GC.SuppressFinalize(this);
        account.Release();
        worker.FreeAfterQueued(memory);
    }

    ~IlgpuMemoryOwner() => Release(disposing: false);
}
