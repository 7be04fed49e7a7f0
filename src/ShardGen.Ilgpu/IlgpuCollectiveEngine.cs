using System;
using System.Collections.Generic;
using ShardGen.Collectives;
using ShardGen.Devices;

namespace ShardGen.Ilgpu;

/// <summary>
/// Collectives between the accelerators of an <see cref="IlgpuDeviceMesh"/>, with the CPU backend's algorithms
/// (ring all-reduce, all-gather and reduce-scatter, direct broadcast, binomial-tree reduce), checks and byte
/// counts: each call is checked, then one part is enqueued on every member's queue (under one lock, so all
/// members see all collectives in the same order) and the members run it together, step by step.
/// </summary>
public sealed class IlgpuCollectiveEngine : CollectiveEngine
{
    private readonly IlgpuDeviceMesh _mesh;
    private readonly object _issueGate = new();

    internal IlgpuCollectiveEngine(CollectiveStats stats, IlgpuDeviceMesh mesh) : base(stats) => _mesh = mesh;

    public override void AllReduce(DeviceGroup group, IReadOnlyList<MatrixView> buffers)
    {
        var members = Members(group, _mesh.IlgpuDevices);
        var views = PerMember(group, members, buffers, nameof(buffers));
        CheckAllReduceBuffers(group, views, nameof(buffers));
        long n = views[0].Elements;
        Issue(members, new RingAllReduceOp(members, _mesh, Stats, views));
        Record(CollectiveKind.AllReduce, group, n, 2L * (members.Length - 1) * n);
    }

    public override void AllGather(DeviceGroup group, IReadOnlyList<MatrixView> shards, IReadOnlyList<IReadOnlyList<MatrixView>> targets)
    {
        var members = Members(group, _mesh.IlgpuDevices);
        var shardViews = PerMember(group, members, shards, nameof(shards));
        var targetViews = Matrix(group, members, targets, nameof(targets));
        long total = CheckBlocks(group, "AllGather", shardViews, targetViews, "targets", nameof(targets));
        Issue(members, new RingAllGatherOp(members, _mesh, Stats, shardViews, targetViews));
        Record(CollectiveKind.AllGather, group, total, (members.Length - 1) * total);
    }

    public override void ReduceScatter(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> parts, IReadOnlyList<MatrixView> results)
    {
        var members = Members(group, _mesh.IlgpuDevices);
        var partViews = Matrix(group, members, parts, nameof(parts));
        var resultViews = PerMember(group, members, results, nameof(results));
        long total = CheckBlocks(group, "ReduceScatter", resultViews, partViews, "parts", nameof(parts));
        Issue(members, new RingReduceScatterOp(members, _mesh, Stats, partViews, resultViews));
        Record(CollectiveKind.ReduceScatter, group, total, (members.Length - 1) * total);
    }

    public override void Broadcast(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var members = Members(group, _mesh.IlgpuDevices);
        CheckRoot(group, root);
        var views = PerMember(group, members, buffers, nameof(buffers));
        CheckRootShape(group, "Broadcast", root, views, nameof(buffers));
        long n = views[root].Elements;
        Issue(members, new BroadcastOp(members, _mesh, Stats, root, views));
        Record(CollectiveKind.Broadcast, group, n, (members.Length - 1) * n);
    }

    public override void Reduce(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var members = Members(group, _mesh.IlgpuDevices);
        CheckRoot(group, root);
        var views = PerMember(group, members, buffers, nameof(buffers));
        CheckRootShape(group, "Reduce", root, views, nameof(buffers));
        long n = views[root].Elements;
        Issue(members, new TreeReduceOp(members, _mesh, Stats, root, views));
        Record(CollectiveKind.Reduce, group, n, (members.Length - 1) * n);
    }

    private void Issue(IlgpuDevice[] members, IlgpuCollectiveOp op)
    {
        lock (_issueGate)
        {
            for (int i = 0; i < members.Length; i++)
            {
                int member = i;
                members[i].Enqueue(() => op.Run(member));
            }
        }
    }
}
