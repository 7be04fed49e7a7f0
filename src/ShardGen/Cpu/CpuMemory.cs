using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Cpu;

/// <summary>
/// One block of 64-byte aligned, zero-filled native memory (cache-line and zmm aligned, never moved by the GC).
/// Not finalizable: the registry and the owner below free it, each at most once.
/// </summary>
internal sealed unsafe class NativeBlock
{
    private nint _data;

    public NativeBlock(int floats)
    {
        // Never a zero-byte request: AlignedAlloc(0) may return null.
        nuint bytes = (nuint)Math.Max(floats, 16) * sizeof(float);
        var p = NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        _data = (nint)p;
    }

    /// <summary>Start of the memory, or null once freed.</summary>
    public float* Data => (float*)Volatile.Read(ref _data);

    public void Free()
    {
        nint p = Interlocked.Exchange(ref _data, 0);
        if (p != 0) NativeMemory.AlignedFree((void*)p);
    }
}

/// <summary>
/// The blocks of one CPU device still allocated, so a stopping device frees what live models still hold. Holds the
/// blocks, never the buffers, so a dropped buffer stays collectable. Thread-safe: the worker, user threads and the
/// finalizer thread all free into it.
/// </summary>
internal sealed class CpuMemoryRegistry
{
    private readonly HashSet<NativeBlock> _blocks = new();
    private bool _closed;

    /// <summary>Records a new block; false (and the block freed) once the device has stopped.</summary>
    public bool TryAdd(NativeBlock block)
    {
        lock (_blocks)
        {
            if (!_closed) return _blocks.Add(block);
        }
        block.Free();
        return false;
    }

    public void Free(NativeBlock block)
    {
        lock (_blocks) _blocks.Remove(block);
        block.Free();
    }

    /// <summary>Device shutdown: frees every block left and refuses new ones.</summary>
    public void FreeAll()
    {
        NativeBlock[] left;
        lock (_blocks)
        {
            _closed = true;
            left = new NativeBlock[_blocks.Count];
            _blocks.CopyTo(left);
            _blocks.Clear();
        }
        foreach (var block in left) block.Free();
    }
}

/// <summary>
/// Finalizable owner of one <see cref="CpuDeviceBuffer"/>'s block, kept small so a dropped buffer does not drag its
/// device's graph through an extra collection. If the buffer is dropped without Dispose, the finalizer frees the
/// block at once: nothing queued can still use it (a queued command holds its buffer, and so this owner, alive), and
/// it touches only the registry and the account, which are never finalized.
/// </summary>
internal sealed class CpuMemoryOwner
{
    private readonly CpuMemoryRegistry _registry;
    private readonly BufferAccount _account;

    public CpuMemoryOwner(NativeBlock block, CpuMemoryRegistry registry, BufferAccount account)
    {
        Block = block;
        _registry = registry;
        _account = account;
    }

    public NativeBlock Block { get; }

    /// <summary>Dispose took over: the block is freed in queue order by the device.</summary>
    public void Disown() => GC.SuppressFinalize(this);

    ~CpuMemoryOwner()
    {
        _registry.Free(Block);
        _account.Release();
    }
}
