using System;
using System.Collections.Generic;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

/// <summary>
/// The worker of one <see cref="IlgpuDevice"/>: its queue and everything the worker thread owns (the accelerator, made
/// and disposed on this thread so a CUDA context is current where it is used; the kernels; the scratch and receive
/// buffers; every memory buffer still allocated). It never references the device, so a device (and its mesh) dropped
/// without Dispose can be collected; its <see cref="WorkerLifetime"/> then stops this queue, and the thread frees what
/// it owns, accelerator last, then lets go of the shared context.
/// </summary>
internal sealed class IlgpuWorker : IStoppableWorker
{
    private readonly object _gate = new();
    private readonly string _name; // the device's, for messages (the device's Name formats a new string)
    private readonly Queue<Action> _queue = new();
    private readonly HashSet<MemoryBuffer1D<float, Stride1D.Dense>> _memory = new();
    private readonly IlgpuContextLease _context;
    private int _pending;
    private Exception? _error;
    private bool _stopping;

    // Worker thread only.
    internal Accelerator? Accelerator;
    internal DeviceKernelSet? Kernels;
    internal MemoryBuffer1D<float, Stride1D.Dense>? ScratchBuffer;
    internal MemoryBuffer1D<float, Stride1D.Dense>? ReceiveBuffer;

    public IlgpuWorker(string name, IlgpuContextLease context)
    {
        _name = name;
        _context = context;
        context.Acquire();
        // A static entry with this queue as its only state: the thread must not keep the device alive.
        Thread = new Thread(static state => ((IlgpuWorker)state!).Loop()) { IsBackground = true, Name = $"{name} worker" };
        Thread.Start(this);
    }

    public Thread Thread { get; }

    public bool IsCurrentThread => Thread.CurrentThread == Thread;

    /// <summary>Memory buffers allocated and not yet freed (tests check dropped buffers come back).</summary>
    public int HeldBuffers
    {
        get { lock (_gate) return _memory.Count; }
    }

    public bool IsStopping
    {
        get { lock (_gate) return _stopping; }
    }

    /// <summary>Appends work; false once stopping (nothing queued).</summary>
    public bool TryEnqueue(Action work)
    {
        lock (_gate)
        {
            if (_stopping) return false;
            _queue.Enqueue(work);
            _pending++;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    /// <summary>Records a new buffer (worker thread); false once stopping, when the caller frees it.</summary>
    public bool TryHold(MemoryBuffer1D<float, Stride1D.Dense> memory)
    {
        lock (_gate) return !_stopping && _memory.Add(memory);
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
        lock (_gate)
        {
            if (!_memory.Remove(memory)) return;
        }
        // Kernels queued before the free may still be running on the stream.
        Accelerator?.DefaultStream.Synchronize();
        memory.Dispose();
    }

    /// <summary>Keeps the first failure (worker thread).</summary>
    public void RecordError(Exception e)
    {
        lock (_gate) _error ??= e;
    }

    public bool HasError
    {
        get { lock (_gate) return _error != null; }
    }

    /// <summary>The first failure since the last call, or null.</summary>
    public Exception? TakeError()
    {
        lock (_gate)
        {
            var e = _error;
            _error = null;
            return e;
        }
    }

    public void WaitIdle()
    {
        if (IsCurrentThread)
            throw new InvalidOperationException($"Device {_name} cannot wait for its own queue from one of its kernels.");
        lock (_gate)
        {
            while (_pending > 0) Monitor.Wait(_gate);
        }
    }

    /// <summary>Stops accepting work; the thread drains what is queued, frees everything, then exits.</summary>
    public void BeginStop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    private void Loop()
    {
        try
        {
            while (WaitForWork()) RunNext();
        }
        finally
        {
            ReleaseAll();
        }
    }

    /// <summary>Sleeps until work is queued (true) or the queue stopped and drained (false).</summary>
    private bool WaitForWork()
    {
        lock (_gate)
        {
            while (_queue.Count == 0 && !_stopping) Monitor.Wait(_gate);
            return _queue.Count > 0;
        }
    }

    /// <summary>
    /// Runs the oldest work item. A frame of its own, so no stack slot of the loop still holds the item (and through
    /// its closure the device) while the thread sleeps: the device must stay collectable.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void RunNext()
    {
        Action work;
        lock (_gate) work = _queue.Dequeue();
        try
        {
            work();
        }
        catch (Exception e)
        {
            RecordError(e);
        }
        lock (_gate)
        {
            if (--_pending == 0) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Worker exit: frees every buffer, the scratch and the accelerator on the thread that owns them.</summary>
    private void ReleaseAll()
    {
        MemoryBuffer1D<float, Stride1D.Dense>[] left;
        lock (_gate)
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
