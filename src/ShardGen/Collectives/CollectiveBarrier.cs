using System;
using System.Diagnostics;
using System.Threading;

namespace ShardGen.Collectives;

/// <summary>
/// Reusable barrier for the members of one collective call. Unlike <see cref="Barrier"/> it can be broken:
/// if one member fails, the others stop waiting and fail too instead of hanging their devices forever.
/// Arrival is lock-free; a waiter spins briefly (when the members fit on the cores) before it blocks, so a
/// ring step costs about a cache-line transfer, not a futex wake-up. Every in-process backend's collectives meet on it.
/// </summary>
internal sealed class CollectiveBarrier
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs
    private readonly object _gate = new();
    private readonly int _participants;
    private readonly bool _spin;
    private int _arrived;
    private long _phase;
    private int _sleepers;
    private volatile Exception? _broken;

    public CollectiveBarrier(int participants)
    {
        _participants = participants;
        _spin = participants <= Environment.ProcessorCount;
    }

    public void SignalAndWait()
    {
        if (_participants == 1) return;
        ThrowIfBroken();
        long phase = Volatile.Read(ref _phase);
        if (Interlocked.Increment(ref _arrived) == _participants)
        {
            Volatile.Write(ref _arrived, 0);
            Interlocked.Increment(ref _phase);
            if (Volatile.Read(ref _sleepers) > 0)
                lock (_gate) Monitor.PulseAll(_gate);
            return;
        }
        if (_spin)
        {
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _phase) == phase)
            {
                if (_broken != null) ThrowIfBroken();
                Thread.SpinWait(16);
                if (Stopwatch.GetTimestamp() > until) break;
            }
            if (Volatile.Read(ref _phase) != phase) return;
        }
        lock (_gate)
        {
            Interlocked.Increment(ref _sleepers);
            try
            {
                while (Volatile.Read(ref _phase) == phase && _broken == null) Monitor.Wait(_gate);
            }
            finally
            {
                Interlocked.Decrement(ref _sleepers);
            }
            if (Volatile.Read(ref _phase) == phase) ThrowIfBroken();
        }
    }

    public void Break(Exception cause)
    {
        lock (_gate)
        {
            _broken ??= cause;
            Monitor.PulseAll(_gate);
        }
    }

    private void ThrowIfBroken()
    {
        var broken = _broken;
        if (broken != null)
            throw new InvalidOperationException($"Collective aborted because another member failed: {broken.Message}", broken);
    }
}
