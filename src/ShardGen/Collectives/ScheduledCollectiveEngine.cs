using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Collectives;

/// <summary>
/// The collectives of an in-process mesh (CPU, ILGPU): each call is checked, then one part is enqueued on every
/// member's queue (under one lock, so all members see all collectives in the same order and overlapping groups
/// cannot deadlock), and the members run its <see cref="CollectiveSchedule"/> together. A backend supplies only its
/// devices, its op (the transport) and how a part is enqueued. Ops come from a pool, so a steady stream of
/// collectives allocates nothing (given a queue that does not).
/// </summary>
public abstract class ScheduledCollectiveEngine<TDevice> : CollectiveEngine where TDevice : Device
{
    private readonly object _issueGate = new();
    private readonly CollectivePool<TDevice> _pool;

    private protected ScheduledCollectiveEngine(CollectiveStats stats) : base(stats) => _pool = new CollectivePool<TDevice>(Create);

    /// <summary>The mesh's devices, indexed by rank.</summary>
    private protected abstract IReadOnlyList<TDevice> MeshDevices { get; }

    /// <summary>A new op of this backend for a group of <paramref name="size"/>.</summary>
    private protected abstract ScheduledCollective<TDevice> Create(CollectiveKind kind, int size);

    /// <summary>Enqueues member <paramref name="member"/>'s part of <paramref name="op"/> on its device.</summary>
    private protected abstract void Enqueue(TDevice device, ScheduledCollective<TDevice> op, int member);

    public override void AllReduce(DeviceGroup group, IReadOnlyList<MatrixView> buffers)
    {
        var op = Rent(CollectiveKind.AllReduce, group);
        FillPerMember(group, op.Members, buffers, nameof(buffers), op.MemberViews);
        CheckAllReduceBuffers(group, op.MemberViews, nameof(buffers));
        Issue(op, group, root: 0);
    }

    public override void AllGather(DeviceGroup group, IReadOnlyList<MatrixView> shards, IReadOnlyList<IReadOnlyList<MatrixView>> targets)
    {
        var op = Rent(CollectiveKind.AllGather, group);
        FillPerMember(group, op.Members, shards, nameof(shards), op.MemberViews);
        FillMatrix(group, op.Members, targets, nameof(targets), op.ChunkViews);
        CheckChunks(group, "AllGather", op.MemberViews, op.ChunkViews, "targets", nameof(targets));
        Issue(op, group, root: 0);
    }

    public override void ReduceScatter(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> parts, IReadOnlyList<MatrixView> results)
    {
        var op = Rent(CollectiveKind.ReduceScatter, group);
        FillMatrix(group, op.Members, parts, nameof(parts), op.ChunkViews);
        FillPerMember(group, op.Members, results, nameof(results), op.MemberViews);
        CheckChunks(group, "ReduceScatter", op.MemberViews, op.ChunkViews, "parts", nameof(parts));
        Issue(op, group, root: 0);
    }

    public override void Broadcast(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers) =>
        Rooted(CollectiveKind.Broadcast, group, root, buffers);

    public override void Reduce(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers) =>
        Rooted(CollectiveKind.Reduce, group, root, buffers);

    private void Rooted(CollectiveKind kind, DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var op = Rent(kind, group);
        CheckRoot(group, root);
        FillPerMember(group, op.Members, buffers, nameof(buffers), op.MemberViews);
        CheckRootShape(group, kind == CollectiveKind.Broadcast ? "Broadcast" : "Reduce", root, op.MemberViews, nameof(buffers));
        Issue(op, group, root);
    }

    /// <summary>An idle op of this kind for the group's size, its members filled and checked.</summary>
    private ScheduledCollective<TDevice> Rent(CollectiveKind kind, DeviceGroup group)
    {
        CheckGroup(group);
        // A refused call drops its op (it never returns to the pool); only issued ops come back.
        var op = _pool.Rent(kind, group.Size);
        FillMembers(group, MeshDevices, op.Members);
        return op;
    }

    private void Issue(ScheduledCollective<TDevice> op, DeviceGroup group, int root)
    {
        op.Start(_pool, root);
        var members = op.Members;
        lock (_issueGate)
        {
            for (int i = 0; i < members.Length; i++) Enqueue(members[i], op, i);
        }
        Record(op.Kind, group, op.Elements, op.ElementsSent);
    }
}
