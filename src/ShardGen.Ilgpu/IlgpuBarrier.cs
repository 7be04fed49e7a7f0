using System;
using System.Threading;

namespace ShardGen.Ilgpu;

/// <summary>
/// Reusable barrier for the members of one collective call that can be broken: if one member fails, the others
/// stop waiting and fail too instead of hanging their devices.
/// </summary>
internal sealed class IlgpuBarrier
{
    private readonly object _gate = new();
    private readonly int _participants;
    private int _arrived;
    private long _phase;
    private Exception? _broken;

    public IlgpuBarrier(int participants) => _participants = participants;

    public void SignalAndWait()
    {
        if (_participants == 1) return;
        lock (_gate)
        {
            ThrowIfBroken();
            long phase = _phase;
            if (++_arrived == _participants)
            {
                _arrived = 0;
                _phase++;
                Monitor.PulseAll(_gate);
                return;
            }
            while (_phase == phase && _broken == null) Monitor.Wait(_gate);
            if (_phase == phase) ThrowIfBroken();
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
        if (_broken != null)
            throw new InvalidOperationException($"Collective aborted because another member failed: {_broken.Message}", _broken);
    }
}
