using System;
using System.Collections.Generic;

namespace ShardGen.Collectives;

/// <summary>
/// Idle collective ops by (kind, group size). An op's arrays and barrier are sized to its group, so any group of
/// that size can reuse it. Taken on the issuing thread, returned by the last member's worker: hence the lock.
/// </summary>
internal sealed class CollectivePool<TDevice>(Func<CollectiveKind, int, ScheduledCollective<TDevice>> create) where TDevice : Devices.Device
{
    private readonly Dictionary<(CollectiveKind Kind, int Size), Stack<ScheduledCollective<TDevice>>> _idle = new();

    public ScheduledCollective<TDevice> Rent(CollectiveKind kind, int size)
    {
        lock (_idle)
        {
            if (_idle.TryGetValue((kind, size), out var stack) && stack.TryPop(out var op)) return op;
        }
        return create(kind, size);
    }

    public void Return(ScheduledCollective<TDevice> op)
    {
        lock (_idle)
        {
            var key = (op.Kind, op.Members.Length);
            if (!_idle.TryGetValue(key, out var stack)) _idle[key] = stack = new Stack<ScheduledCollective<TDevice>>();
            stack.Push(op);
        }
    }
}
