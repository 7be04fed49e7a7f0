using System.Collections.Generic;
using ShardGen.Collectives;

namespace ShardGen.Cpu;

/// <summary>
/// Idle collective ops by (kind, group size). An op's arrays and barrier are sized to its group, so any group of
/// that size can reuse it. Taken on the issuing thread, returned by the last member's worker: hence the lock.
/// </summary>
internal sealed class CollectiveOpPool
{
    private readonly Dictionary<(CollectiveKind Kind, int Size), Stack<CollectiveOp>> _idle = new();
    private readonly CollectiveStats _stats;

    public CollectiveOpPool(CollectiveStats stats) => _stats = stats;

    public T Rent<T>(CollectiveKind kind, int size) where T : CollectiveOp
    {
        lock (_idle)
        {
            if (_idle.TryGetValue((kind, size), out var stack) && stack.TryPop(out var op)) return (T)op;
        }
        return (T)Create(kind, size);
    }

    public void Return(CollectiveOp op)
    {
        lock (_idle)
        {
            var key = (op.Kind, op.Members.Length);
            if (!_idle.TryGetValue(key, out var stack)) _idle[key] = stack = new Stack<CollectiveOp>();
            stack.Push(op);
        }
    }

    private CollectiveOp Create(CollectiveKind kind, int size) => kind switch
    {
        CollectiveKind.AllReduce => new RingAllReduceOp(size, _stats),
        CollectiveKind.AllGather => new RingAllGatherOp(size, _stats),
        CollectiveKind.ReduceScatter => new RingReduceScatterOp(size, _stats),
        CollectiveKind.Broadcast => new BroadcastOp(size, _stats),
        _ => new TreeReduceOp(size, _stats),
    };
}
