using System;
using System.Threading;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

/// <summary>
/// The worker of one <see cref="CpuDevice"/>: its FIFO of commands and everything the worker thread uses to run them
/// (GEMM workspaces, thread team, memory registry). It never references the device, so a device
/// (and its mesh) dropped without Dispose can be collected; its <see cref="WorkerLifetime"/> then stops this queue,
/// and the thread frees what it owns on its way out.
/// </summary>
internal sealed unsafe partial class CpuWorker : IStoppableWorker
{
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000; // 50 µs
    private readonly object _gate = new();
    private readonly string _name; // the device's, for messages (the device's Name formats a new string)
    private readonly CommandRing _queue = new();
    private readonly KernelThreadTeam? _team;
    private readonly GemmWorkspace[] _workspaces;
    private readonly bool _spin;
    private int _queued; // _queue.Count, readable without the lock while the worker spins
    private int _pending;
    private Exception? _error;
    private bool _stopping;

    public CpuWorker(string name, int threads, bool spin)
    {
        _name = name;
        _spin = spin;
        _workspaces = new GemmWorkspace[threads];
        for (int i = 0; i < threads; i++) _workspaces[i] = new GemmWorkspace();
        if (threads > 1) _team = new KernelThreadTeam(threads, name);
        // A static entry with this queue as its only state: the thread must not keep the device alive.
        Thread = new Thread(static state => ((CpuWorker)state!).Loop()) { IsBackground = true, Name = $"{name} worker" };
        Thread.Start(this);
    }

    public Thread Thread { get; }

    /// <summary>The worker thread and the team's helpers: every thread this device started.</summary>
    public Thread[] AllThreads => _team is null ? [Thread] : [Thread, .. _team.Helpers];


    /// <summary>The device's native blocks still allocated.</summary>
    public CpuMemoryRegistry Memory { get; } = new();

    public bool IsCurrentThread => Thread.CurrentThread == Thread;

    /// <summary>Appends a command; false once stopping (nothing queued).</summary>
    public bool TryEnqueue(in DeviceCommand command)
    {
        lock (_gate)
        {
            if (_stopping) return false;
            _queue.Push(command);
            Volatile.Write(ref _queued, _queue.Count);
            _pending++;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    private void SpinForWork()
    {
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _queued) == 0 && !Volatile.Read(ref _stopping) && System.Diagnostics.Stopwatch.GetTimestamp() < until)
            Thread.SpinWait(16);
    }

    private void Loop()
    {
        try
        {
            while (true)
            {
                if (_spin) SpinForWork();
                DeviceCommand command;
                lock (_gate)
                {
                    while (_queue.Count == 0 && !_stopping) Monitor.Wait(_gate);
                    if (_queue.Count == 0) return;
                    _queue.Pop(out command);
                    Volatile.Write(ref _queued, _queue.Count);
                }
                try
                {
                    Execute(command);
                }
                catch (Exception e)
                {
                    lock (_gate) _error ??= e;
                }
                // While this thread waits for the next command, the last one must not keep its buffers or mesh alive.
                command = default;
                lock (_gate)
                {
                    if (--_pending == 0) Monitor.PulseAll(_gate);
                }
            }
        }
        finally
        {
            // Everything this thread used is freed by it, after the last command ran.
            _team?.Dispose();
            foreach (var w in _workspaces) w.Dispose();
            Memory.FreeAll();
        }
    }

    /// <summary>Waits until the queue is empty (without reporting failures).</summary>
    public void WaitIdle()
    {
        if (IsCurrentThread)
            throw new InvalidOperationException($"Device {_name} cannot wait for its own queue from one of its kernels.");
        lock (_gate)
        {
            while (_pending > 0) Monitor.Wait(_gate);
        }
    }

    /// <summary>The first kernel failure since the last call, or null.</summary>
    public Exception? TakeError()
    {
        lock (_gate)
        {
            var e = _error;
            _error = null;
            return e;
        }
    }

    public bool IsStopping
    {
        get { lock (_gate) return _stopping; }
    }

    /// <summary>Stops accepting work; the thread drains what is queued, frees what it owns, then exits.</summary>
    public void BeginStop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }
}
