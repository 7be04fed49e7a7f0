using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ShardGen.Kernels;

/// <summary>
/// A device's private fork-join team for splitting one kernel over several threads. Dedicated threads
/// (not the shared ThreadPool) so devices never steal each other's workers. The calling thread takes
/// part as member 0; <see cref="Run"/> is called by one thread at a time (the device's worker).
/// </summary>
internal sealed class KernelThreadTeam : IDisposable
{
    private readonly Thread[] _helpers;
    private readonly object _gate = new();
    private Action<int>? _body;
    private long _generation;
    private int _remaining;
    private bool _stopping;
    private Exception? _error;

    public KernelThreadTeam(int threads, string name)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), "A thread team needs at least one thread.");
        Threads = threads;
        _helpers = new Thread[threads - 1];
        for (int i = 0; i < _helpers.Length; i++)
        {
            int member = i + 1;
            _helpers[i] = new Thread(() => HelperLoop(member)) { IsBackground = true, Name = $"{name} helper {member}" };
            _helpers[i].Start();
        }
    }

    public int Threads { get; }

    /// <summary>Runs <paramref name="body"/>(member) for every member 0..Threads-1 and waits for all of them.</summary>
    public void Run(Action<int> body)
    {
        if (_helpers.Length == 0)
        {
            body(0);
            return;
        }
        lock (_gate)
        {
            _body = body;
            _error = null;
            _remaining = _helpers.Length;
            _generation++;
            Monitor.PulseAll(_gate);
        }
        Exception? own = null;
        try { body(0); }
        catch (Exception e) { own = e; }
        lock (_gate)
        {
            while (_remaining > 0) Monitor.Wait(_gate);
            _body = null;
            own ??= _error;
        }
        if (own != null) ExceptionDispatchInfo.Capture(own).Throw();
    }

    private void HelperLoop(int member)
    {
        long seen = 0;
        while (true)
        {
            Action<int> body;
            lock (_gate)
            {
                while (!_stopping && _generation == seen) Monitor.Wait(_gate);
                if (_stopping) return;
                seen = _generation;
                body = _body!;
            }
            try { body(member); }
            catch (Exception e) { lock (_gate) _error ??= e; }
            lock (_gate)
            {
                if (--_remaining == 0) Monitor.PulseAll(_gate);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        foreach (var t in _helpers) t.Join();
    }
}
