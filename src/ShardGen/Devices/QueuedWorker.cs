using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using ShardGen.Cpu;

namespace ShardGen.Devices;

/// <summary>
/// The worker thread of a queued device (CPU, ILGPU) and its FIFO of commands: enqueue, wait until idle, keep the
/// first failure for the next Synchronize, stop and drain. A backend supplies how a command runs and what the
/// thread frees on its way out. The thread references only this worker, never the device, so a device (and its
/// mesh) dropped without Dispose can be collected; its <see cref="WorkerLifetime"/> then stops the queue.
/// </summary>
internal abstract class QueuedWorker<TCommand> : IStoppableWorker
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs
    private readonly CommandRing<TCommand> _queue = new();
    private readonly bool _spin;
    private int _queued; // _queue.Count, readable without the lock while the worker spins
    private int _pending;
    private Exception? _error;
    private bool _stopping;
    private int _joined;

    /// <param name="name">The device's, for messages (the device's Name may format a new string).</param>
    /// <param name="spin">Whether an idle worker spins for up to 50 µs before it sleeps.</param>
    protected QueuedWorker(string name, bool spin)
    {
        DeviceName = name;
        _spin = spin;
        // A static entry with this worker as its only state: the thread must not keep the device alive.
        Thread = new Thread(static state => ((QueuedWorker<TCommand>)state!).Loop()) { IsBackground = true, Name = $"{name} worker" };
    }

    public Thread Thread { get; }

    public bool IsCurrentThread => Thread.CurrentThread == Thread;

    protected string DeviceName { get; }

    /// <summary>Guards the queue and the stopping flag; a backend may hold it for state that must agree with them.</summary>
    protected object Gate { get; } = new();

    /// <summary>Whether the worker stops accepting work; read under <see cref="Gate"/>.</summary>
    protected bool StoppingLocked => _stopping;

    public bool IsStopping
    {
        get { lock (Gate) return _stopping; }
    }

    /// <summary>Starts the thread; the backend calls it last in its constructor, once what the thread uses exists.</summary>
    protected void Start() => Thread.Start(this);

    /// <summary>Appends a command; false once stopping (nothing queued).</summary>
    public bool TryEnqueue(in TCommand command)
    {
        lock (Gate)
        {
            if (_stopping) return false;
            _queue.Push(command);
            Volatile.Write(ref _queued, _queue.Count);
            _pending++;
            Monitor.PulseAll(Gate);
            return true;
        }
    }

    /// <summary>Appends a command; it runs after everything enqueued before it.</summary>
    public void Enqueue(in TCommand command)
    {
        if (!TryEnqueue(command)) throw new ObjectDisposedException(DeviceName, $"Device {DeviceName} was disposed (its mesh was disposed).");
    }

    /// <summary>Waits until the queue is empty (without reporting failures).</summary>
    public void WaitIdle()
    {
        if (IsCurrentThread)
            throw new InvalidOperationException($"Device {DeviceName} cannot wait for its own queue from one of its kernels.");
        lock (Gate)
        {
            while (_pending > 0) Monitor.Wait(Gate);
        }
    }

    /// <summary>Keeps the first failure until <see cref="ThrowPendingError"/>.</summary>
    public void RecordError(Exception e)
    {
        lock (Gate) _error ??= e;
    }

    public bool HasError
    {
        get { lock (Gate) return _error != null; }
    }

    /// <summary>Throws the first failure since the last call, as the device's <see cref="DeviceKernelException"/>.</summary>
    public void ThrowPendingError()
    {
        Exception? e;
        lock (Gate)
        {
            e = _error;
            _error = null;
        }
        if (e != null) throw new DeviceKernelException(DeviceName, e);
    }

    /// <summary>Stops accepting work; the thread drains what is queued, frees what it owns, then exits.</summary>
    public void BeginStop()
    {
        lock (Gate)
        {
            _stopping = true;
            Monitor.PulseAll(Gate);
        }
    }

    /// <summary>Stops and waits for the thread to exit (unless called from it); false if an earlier call already did.</summary>
    public bool Stop()
    {
        BeginStop();
        if (Interlocked.Exchange(ref _joined, 1) != 0) return false;
        if (!IsCurrentThread) Thread.Join();
        return true;
    }

    /// <summary>Runs one command on the worker thread.</summary>
    protected abstract void Execute(in TCommand command);

    /// <summary>Worker exit, after the last command ran: frees everything the thread owns.</summary>
    protected abstract void ReleaseAll();

    private void Loop()
    {
        try
        {
            while (RunNext())
            {
            }
        }
        finally
        {
            ReleaseAll();
        }
    }

    /// <summary>
    /// Waits for the oldest command and runs it; false once the queue stopped and drained. A frame of its own, so no
    /// stack slot of the loop still holds the command (and through it the device) while the thread sleeps.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RunNext()
    {
        if (_spin) SpinForWork();
        TCommand command;
        lock (Gate)
        {
            while (_queue.Count == 0 && !_stopping) Monitor.Wait(Gate);
            if (_queue.Count == 0) return false;
            _queue.Pop(out command);
            Volatile.Write(ref _queued, _queue.Count);
        }
        try
        {
            Execute(command);
        }
        catch (Exception e)
        {
            RecordError(e);
        }
        lock (Gate)
        {
            if (--_pending == 0) Monitor.PulseAll(Gate);
        }
        return true;
    }

    private void SpinForWork()
    {
        long until = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _queued) == 0 && !Volatile.Read(ref _stopping) && Stopwatch.GetTimestamp() < until)
            Thread.SpinWait(16);
    }
}
