using System;
using System.Collections.Generic;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

/// <summary>
/// The worker of one <see cref="IlgpuDevice"/>: a <see cref="QueuedWorker{TCommand}"/> of actions and everything its
/// thread owns (the accelerator, made and disposed on this thread so a CUDA context is current where it is used; the
/// kernels; the scratch and receive buffers; every memory buffer still allocated). On its way out the thread frees
/// all of it, accelerator last, then lets go of the shared context.
/// </summary>
internal sealed class IlgpuWorker : QueuedWorker<Action>
{
    private readonly HashSet<MemoryBuffer1D<float, Stride1D.Dense>> _memory = new();
    private readonly IlgpuContextLease _context;

    // Worker thread only.
    internal Accelerator? Accelerator;
    internal DeviceKernelSet? Kernels;
    internal MemoryBuffer1D<float, Stride1D.Dense>? ScratchBuffer;
    internal MemoryBuffer1D<float, Stride1D.Dense>? ReceiveBuffer;
    /// <summary>Token ids and positions of the language-model kernels, uploaded per call.</summary>
    internal MemoryBuffer1D<int, Stride1D.Dense>? IndexBuffer;
    /// <summary>Rotary angle tables by (head dimension, θ): cos rows then sin rows, and the positions they cover.</summary>
    internal readonly Dictionary<(int HeadDim, float Theta), (MemoryBuffer1D<float, Stride1D.Dense> Table, int Positions)> RotaryTables = new();

    public IlgpuWorker(string name, IlgpuContextLease context) : base(name, spin: false)
    {
        _context = context;
        context.Acquire();
        Start();
    }

    /// <summary>Memory buffers allocated and not yet freed (tests check dropped buffers come back).</summary>
    public int HeldBuffers
    {
        get { lock (Gate) return _memory.Count; }
    }

    /// <summary>Records a new buffer (worker thread); false once stopping, when the caller frees it.</summary>
    public bool TryHold(MemoryBuffer1D<float, Stride1D.Dense> memory)
    {
        lock (Gate) return !StoppingLocked && _memory.Add(memory);
    }

    /// <summary>
    /// Frees <paramref name="memory"/> after the work already queued, on the worker (the thread that owns the
    /// accelerator). Safe from any thread, the finalizer's included: it touches only this queue. After shutdown the
    /// worker has freed everything already.
    /// </summary>
    public void FreeAfterQueued(MemoryBuffer1D<float, Stride1D.Dense> memory)
    {
        if (IsCurrentThread) FreeNow(memory);
        else TryEnqueue(() => FreeNow(memory));
    }

    private void FreeNow(MemoryBuffer1D<float, Stride1D.Dense> memory)
    {
        lock (Gate)
        {
            if (!_memory.Remove(memory)) return;
        }
        // Kernels queued before the free may still be running on the stream.
        Accelerator?.DefaultStream.Synchronize();
        memory.Dispose();
    }

    protected override void Execute(in Action work) => work();

    /// <summary>Worker exit: frees every buffer, the scratch and the accelerator on the thread that owns them.</summary>
    protected override void ReleaseAll()
    {
        MemoryBuffer1D<float, Stride1D.Dense>[] left;
        lock (Gate)
        {
            left = new MemoryBuffer1D<float, Stride1D.Dense>[_memory.Count];
            _memory.CopyTo(left);
            _memory.Clear();
        }
        try
        {
            Accelerator?.Synchronize();
        }
        catch (Exception)
        {
            // Shutting down: a failed kernel was reported (or will never be asked for).
        }
        foreach (var m in left) m.Dispose();
        ScratchBuffer?.Dispose();
        ReceiveBuffer?.Dispose();
        ScratchBuffer = null;
        IndexBuffer?.Dispose();
        IndexBuffer = null;
        foreach (var (table, _) in RotaryTables.Values) table.Dispose();
        RotaryTables.Clear();
        ReceiveBuffer = null;
        Kernels = null;
        Accelerator?.Dispose();
        Accelerator = null;
        _context.Release();
    }
}

/// <summary>
/// The ILGPU context a mesh's accelerators share, disposed when the last holder lets go: the mesh while it is being
/// created, then every device's worker as it exits (after disposing its accelerator). So a mesh dropped without
/// Dispose still ends with its context disposed, and never before an accelerator made from it.
/// </summary>
internal sealed class IlgpuContextLease
{
    private int _holders = 1; // the creator's hold

    public IlgpuContextLease(Context context) => Context = context;

    public Context Context { get; }

    public void Acquire() => Interlocked.Increment(ref _holders);

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0) Context.Dispose();
    }
}
