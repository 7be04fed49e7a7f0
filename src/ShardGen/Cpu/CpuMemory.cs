using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Cpu;

/// <summary>
/// One allocation of 64-byte aligned, zero-filled native memory (cache-line and zmm aligned, never moved by the GC):
/// large ones mapped, zero-filled by the kernel (<see cref="MappedMemory"/>), small ones from the heap,
/// cleared here; or adopted memory the device uses in place and does not own. Not finalizable: the registry and the owner below free it, each at most once.
/// </summary>
internal sealed unsafe class NativeAllocation
{
    private readonly nuint _mappedBytes;
    private readonly Action? _release;
    private nint _data;

    public NativeAllocation(int floats)
    {
        // Never a zero-byte request: AlignedAlloc(0) may return null.
        nuint bytes = (nuint)Math.Max(floats, 16) * sizeof(float);
        var p = MappedMemory.TryMap(bytes);
        if (p != null) _mappedBytes = bytes;
        else
        {
            p = NativeMemory.AlignedAlloc(bytes, 64);
            NativeMemory.Clear(p, bytes);
        }
        _data = (nint)p;
    }

    /// <summary>Memory the allocation does not own (a mapped checkpoint tensor): freeing it runs <paramref name="release"/>.</summary>
    public NativeAllocation(float* data, Action release)
    {
        _data = (nint)data;
        _release = release;
    }

    /// <summary>Start of the memory, or null once freed.</summary>
    public float* Data => (float*)Volatile.Read(ref _data);

    public void Free()
    {
        nint p = Interlocked.Exchange(ref _data, 0);
        if (p == 0) return;
        if (_release is not null) _release();
        else if (_mappedBytes != 0) MappedMemory.Unmap((void*)p, _mappedBytes);
        else NativeMemory.AlignedFree((void*)p);
    }
}

/// <summary>
/// The allocations of one CPU device not yet freed, so a stopping device frees what live models still hold. Holds the
/// allocations, never the buffers, so a dropped buffer stays collectable. Thread-safe: the worker, user threads and the
/// finalizer thread all free into it.
/// </summary>
internal sealed class CpuMemoryRegistry
{
    private readonly HashSet<NativeAllocation> _allocations = new();
    private bool _closed;

    /// <summary>Records a new allocation; false (and the allocation freed) once the device has stopped.</summary>
    public bool TryAdd(NativeAllocation allocation)
    {
        lock (_allocations)
        {
            if (!_closed) return _allocations.Add(allocation);
        }
        allocation.Free();
        return false;
    }

    public void Free(NativeAllocation allocation)
    {
        lock (_allocations) _allocations.Remove(allocation);
        allocation.Free();
    }

    /// <summary>Device shutdown: frees every allocation left and refuses new ones.</summary>
    public void FreeAll()
    {
        NativeAllocation[] left;
        lock (_allocations)
        {
            _closed = true;
            left = new NativeAllocation[_allocations.Count];
            _allocations.CopyTo(left);
            _allocations.Clear();
        }
        foreach (var allocation in left) allocation.Free();
    }
}

/// <summary>
/// Finalizable owner of one <see cref="CpuDeviceBuffer"/>'s allocation, kept small so a dropped buffer does not drag its
/// device's graph through an extra collection. If the buffer is dropped without Dispose, the finalizer frees the
/// allocation at once: nothing queued can still use it (a queued command holds its buffer, and so this owner, alive), and
/// it touches only the registry and the account, which are never finalized.
/// </summary>
internal sealed class CpuMemoryOwner
{
    private readonly CpuMemoryRegistry _registry;
    private readonly BufferAccount _account;

    public CpuMemoryOwner(NativeAllocation allocation, CpuMemoryRegistry registry, BufferAccount account)
    {
        Allocation = allocation;
        _registry = registry;
        _account = account;
    }

    public NativeAllocation Allocation { get; }

    /// <summary>Dispose took over: the allocation is freed in queue order by the device.</summary>
    public void Disown() => GC.SuppressFinalize(this);

    ~CpuMemoryOwner()
    {
        _registry.Free(Allocation);
        _account.Release();
    }
}
