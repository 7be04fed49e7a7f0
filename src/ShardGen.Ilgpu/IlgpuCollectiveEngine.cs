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
        var members = Members(group);
        var views = PerMember(group, members, buffers, nameof(buffers));
        for (int i = 0; i < views.Length; i++)
        {
            if (!views[i].IsContiguous)
                throw new ArgumentException($"AllReduce over {group.Name}: buffer {i} {views[i]} is not contiguous (stride {views[i].Stride}).", nameof(buffers));
            SameShape(views[0], views[i], group, "AllReduce", $"buffer {i}", nameof(buffers));
        }
        long n = views[0].Elements;
        Issue(members, new RingAllReduceOp(members, _mesh, Stats, views));
        Record(CollectiveKind.AllReduce, group, n, 2L * (members.Length - 1) * n);
    }

    public override void AllGather(DeviceGroup group, IReadOnlyList<MatrixView> shards, IReadOnlyList<IReadOnlyList<MatrixView>> targets)
    {
        var members = Members(group);
        var shardViews = PerMember(group, members, shards, nameof(shards));
        var targetViews = Matrix(group, members, targets, nameof(targets));
        long total = 0;
        for (int i = 0; i < members.Length; i++)
        {
            total += shardViews[i].Elements;
            for (int j = 0; j < members.Length; j++)
                SameShape(shardViews[i], targetViews[j][i], group, "AllGather", $"targets[{j}][{i}]", nameof(targets));
        }
        Issue(members, new RingAllGatherOp(members, _mesh, Stats, shardViews, targetViews));
        Record(CollectiveKind.AllGather, group, total, (members.Length - 1) * total);
    }

    public override void ReduceScatter(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> parts, IReadOnlyList<MatrixView> results)
    {
        var members = Members(group);
        var partViews = Matrix(group, members, parts, nameof(parts));
        var resultViews = PerMember(group, members, results, nameof(results));
        long total = 0;
        for (int i = 0; i < members.Length; i++)
        {
            total += resultViews[i].Elements;
            for (int j = 0; j < members.Length; j++)
                SameShape(resultViews[i], partViews[j][i], group, "ReduceScatter", $"parts[{j}][{i}]", nameof(parts));
        }
        Issue(members, new RingReduceScatterOp(members, _mesh, Stats, partViews, resultViews));
        Record(CollectiveKind.ReduceScatter, group, total, (members.Length - 1) * total);
    }

    public override void Broadcast(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var members = Members(group);
        CheckRoot(group, root);
        var views = PerMember(group, members, buffers, nameof(buffers));
        for (int i = 0; i < views.Length; i++) SameShape(views[root], views[i], group, "Broadcast", $"buffer {i}", nameof(buffers));
        long n = views[root].Elements;
        Issue(members, new BroadcastOp(members, _mesh, Stats, root, views));
        Record(CollectiveKind.Broadcast, group, n, (members.Length - 1) * n);
    }

    public override void Reduce(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var members = Members(group);
        CheckRoot(group, root);
        var views = PerMember(group, members, buffers, nameof(buffers));
        for (int i = 0; i < views.Length; i++) SameShape(views[root], views[i], group, "Reduce", $"buffer {i}", nameof(buffers));
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

    private void Record(CollectiveKind kind, DeviceGroup group, long elements, long floatsSent) =>
        Stats.AddRecord(new CollectiveRecord(kind, group.Name, group.Size, elements, floatsSent * sizeof(float)));

    private IlgpuDevice[] Members(DeviceGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (group.Size == 0) throw new ArgumentException($"Group {group.Name} has no members.", nameof(group));
        var members = new IlgpuDevice[group.Size];
        for (int i = 0; i < members.Length; i++)
        {
            var d = group.Members[i];
            if (d is not IlgpuDevice device || d.Rank >= _mesh.IlgpuDevices.Count || !ReferenceEquals(_mesh.IlgpuDevices[d.Rank], device))
                throw new ArgumentException($"Member {i} ({d?.Name ?? "null"}) of {group.Name} is not a device of this mesh.", nameof(group));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(members[j], device))
                    throw new ArgumentException($"Device {device.Name} appears twice in {group.Name}.", nameof(group));
            members[i] = device;
        }
        return members;
    }

    private static MatrixView[] PerMember(DeviceGroup group, IlgpuDevice[] members, IReadOnlyList<MatrixView> views, string name)
    {
        ArgumentNullException.ThrowIfNull(views, name);
        if (views.Count != members.Length)
            throw new ArgumentException($"{name} has {views.Count} entries but {group.Name} has {members.Length} members.", name);
        var result = new MatrixView[members.Length];
        for (int i = 0; i < members.Length; i++)
        {
            members[i].CheckView(views[i], $"{name}[{i}]");
            result[i] = views[i];
        }
        return result;
    }

    private static MatrixView[][] Matrix(DeviceGroup group, IlgpuDevice[] members, IReadOnlyList<IReadOnlyList<MatrixView>> views, string name)
    {
        ArgumentNullException.ThrowIfNull(views, name);
        if (views.Count != members.Length)
            throw new ArgumentException($"{name} has {views.Count} rows but {group.Name} has {members.Length} members.", name);
        var result = new MatrixView[members.Length][];
        for (int j = 0; j < members.Length; j++)
        {
            if (views[j] is null || views[j].Count != members.Length)
                throw new ArgumentException($"{name}[{j}] must list {members.Length} views (one per member of {group.Name}).", name);
            result[j] = new MatrixView[members.Length];
            for (int i = 0; i < members.Length; i++)
            {
                members[j].CheckView(views[j][i], $"{name}[{j}][{i}]");
                result[j][i] = views[j][i];
            }
        }
        return result;
    }

    private static void CheckRoot(DeviceGroup group, int root)
    {
        if (root < 0 || root >= group.Size)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"Root must be a member index of {group.Name} (0..{group.Size - 1}).");
    }

    private static void SameShape(MatrixView expected, MatrixView actual, DeviceGroup group, string op, string what, string name)
    {
        if (expected.Rows != actual.Rows || expected.Cols != actual.Cols)
            throw new ArgumentException($"{op} over {group.Name}: {what} is {actual.Rows}×{actual.Cols} but {expected.Rows}×{expected.Cols} is expected.", name);
    }
}
