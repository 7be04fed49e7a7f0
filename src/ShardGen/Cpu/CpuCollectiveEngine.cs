using System;
using System.Collections.Generic;
using ShardGen.Collectives;
using ShardGen.Devices;

namespace ShardGen.Cpu;

/// <summary>
/// In-process collectives between <see cref="CpuDevice"/>s: each call is checked, then one part is enqueued
/// on every member's queue (under one lock, so all members see all collectives in the same order and
/// overlapping groups cannot deadlock), and the members run it together. The op objects come from a pool and
/// the queue entries are structs, so a steady stream of collectives allocates nothing.
/// </summary>
public sealed class CpuCollectiveEngine : CollectiveEngine
{
    private readonly CpuDeviceMesh _mesh;
    private readonly object _issueGate = new();
    private readonly CollectiveOpPool _pool;

    internal CpuCollectiveEngine(CollectiveStats stats, CpuDeviceMesh mesh) : base(stats)
    {
        _mesh = mesh;
        _pool = new CollectiveOpPool(stats);
    }

    public override void AllReduce(DeviceGroup group, IReadOnlyList<MatrixView> buffers)
    {
        var op = Rent<RingAllReduceOp>(CollectiveKind.AllReduce, group);
        var views = op.Buffers;
        FillPerMember(group, op.Members, buffers, nameof(buffers), views);
        CheckAllReduceBuffers(group, views, nameof(buffers));
        op.Setup();
        long n = views[0].Elements;
        Issue(op);
        Record(CollectiveKind.AllReduce, group, n, 2L * (views.Length - 1) * n);
    }

    public override void AllGather(DeviceGroup group, IReadOnlyList<MatrixView> shards, IReadOnlyList<IReadOnlyList<MatrixView>> targets)
    {
        var op = Rent<RingAllGatherOp>(CollectiveKind.AllGather, group);
        FillPerMember(group, op.Members, shards, nameof(shards), op.Shards);
        FillMatrix(group, op.Members, targets, nameof(targets), op.Targets);
        long total = CheckBlocks(group, "AllGather", op.Shards, op.Targets, "targets", nameof(targets));
        int g = op.Shards.Length;
        Issue(op);
        Record(CollectiveKind.AllGather, group, total, (g - 1) * total);
    }

    public override void ReduceScatter(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> parts, IReadOnlyList<MatrixView> results)
    {
        var op = Rent<RingReduceScatterOp>(CollectiveKind.ReduceScatter, group);
        FillMatrix(group, op.Members, parts, nameof(parts), op.Parts);
        FillPerMember(group, op.Members, results, nameof(results), op.Results);
        long total = CheckBlocks(group, "ReduceScatter", op.Results, op.Parts, "parts", nameof(parts));
        int g = op.Results.Length;
        Issue(op);
        Record(CollectiveKind.ReduceScatter, group, total, (g - 1) * total);
    }

    public override void Broadcast(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var op = Rent<BroadcastOp>(CollectiveKind.Broadcast, group);
        CheckRoot(group, root);
        var views = op.Buffers;
        FillPerMember(group, op.Members, buffers, nameof(buffers), views);
        CheckRootShape(group, "Broadcast", root, views, nameof(buffers));
        op.Setup(root);
        long n = views[root].Elements;
        Issue(op);
        Record(CollectiveKind.Broadcast, group, n, (views.Length - 1) * n);
    }

    public override void Reduce(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var op = Rent<TreeReduceOp>(CollectiveKind.Reduce, group);
        CheckRoot(group, root);
        var views = op.Buffers;
        FillPerMember(group, op.Members, buffers, nameof(buffers), views);
        CheckRootShape(group, "Reduce", root, views, nameof(buffers));
        op.Setup(root);
        long n = views[root].Elements;
        Issue(op);
        Record(CollectiveKind.Reduce, group, n, (views.Length - 1) * n);
    }

    /// <summary>An idle op of this kind for the group's size, its members filled and checked.</summary>
    private T Rent<T>(CollectiveKind kind, DeviceGroup group) where T : CollectiveOp
    {
        CheckGroup(group);
        // A refused call drops its op (it never returns to the pool); only issued ops come back.
        var op = _pool.Rent<T>(kind, group.Size);
        FillMembers(group, _mesh.CpuDevices, op.Members);
        return op;
    }

    private void Issue(CollectiveOp op)
    {
        op.Start(_pool);
        var members = op.Members;
        lock (_issueGate)
        {
            for (int i = 0; i < members.Length; i++) members[i].Enqueue(DeviceCommand.Collective(op, i));
        }
    }
}
