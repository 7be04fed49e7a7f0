using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace ShardGen.Kernels;

/// <summary>
/// Work a <see cref="KernelThreadTeam"/> runs on every member. A kernel reuses one instance per team, its fields
/// set before each <see cref="KernelThreadTeam.Run"/>, so a run allocates nothing (a lambda would allocate a closure).
/// </summary>
internal interface ITeamJob
{
    void Run(int member);
}

/// <summary>
/// A device's private fork-join team for splitting one kernel over several threads. Dedicated threads
/// (not the shared ThreadPool) so devices never steal each other's workers. The calling thread takes
/// part as member 0; <see cref="Run"/> is called by one thread at a time (the device's worker).
/// </summary>
internal sealed class KernelThreadTeam : IDisposable
{
    private readonly Thread[] _helpers;
    private readonly object _gate = new();
    private ITeamJob? _job;
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

    /// <summary>The helper threads (members 1 … Threads-1).</summary>
    internal System.Collections.Generic.IReadOnlyList<Thread> Helpers => _helpers;

    /// <summary>This team's GEMM-strip job: one kernel runs on a team at a time, so one instance serves every GEMM.</summary>
    internal GemmKernel.StripJob GemmStrips { get; } = new();

    /// <summary>This team's attention job, reused like <see cref="GemmStrips"/>.</summary>
    internal AttentionKernel.TeamJob Attention { get; } = new();

    /// <summary>This team's attention-backward job.</summary>
    internal AttentionBackward.TeamJob AttentionBackward { get; } = new();

    /// <summary>This team's few-rows GEMM job (decoding's projections).</summary>
    internal SkinnyGemm.TeamJob SkinnyGemm { get; } = new();

    /// <summary>This team's KV-cache attention job.</summary>
    internal CachedAttentionKernel.TeamJob CachedAttention { get; } = new();

    /// <summary>
    /// Runs <paramref name="job"/>.Run(member) for every member 0..Threads-1 and waits for all of them. The job's
    /// fields, set before this call, reach the helpers through the lock that hands the job over.
    /// </summary>
    public void Run(ITeamJob job)
    {
        if (_helpers.Length == 0)
        {
            job.Run(0);
            return;
        }
        lock (_gate)
        {
            _job = job;
            _error = null;
            _remaining = _helpers.Length;
            _generation++;
            Monitor.PulseAll(_gate);
        }
        Exception? own = null;
        try { job.Run(0); }
        catch (Exception e) { own = e; }
        lock (_gate)
        {
            while (_remaining > 0) Monitor.Wait(_gate);
            _job = null;
            own ??= _error;
        }
        if (own != null) ExceptionDispatchInfo.Capture(own).Throw();
    }

    private void HelperLoop(int member)
    {
        long seen = 0;
        while (true)
        {
            ITeamJob job;
            lock (_gate)
            {
                while (!_stopping && _generation == seen) Monitor.Wait(_gate);
                if (_stopping) return;
                seen = _generation;
                job = _job!;
            }
            try { job.Run(member); }
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
