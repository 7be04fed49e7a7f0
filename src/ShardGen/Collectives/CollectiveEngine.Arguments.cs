using System;
using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Collectives;

// Argument checks and bookkeeping every backend's collectives share: the same rules and the same words.
public abstract partial class CollectiveEngine
{
    /// <summary>Adds one record for a call that sent <paramref name="floatsSent"/> floats in total.</summary>
    protected void Record(CollectiveKind kind, DeviceGroup group, long elements, long floatsSent) =>
        Stats.AddRecord(kind, group.Name, group.Size, elements, floatsSent * sizeof(float));

    /// <summary>Refuses a null or memberless group; call it before anything is sized by the group.</summary>
    protected static void CheckGroup(DeviceGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (group.Size == 0) throw new ArgumentException($"Group {group.Name} has no members.", nameof(group));
    }

    /// <summary>The group's members as this backend's devices, checked to belong to <paramref name="meshDevices"/> (indexed by rank) once each.</summary>
    protected static TDevice[] Members<TDevice>(DeviceGroup group, IReadOnlyList<TDevice> meshDevices) where TDevice : Device
    {
        CheckGroup(group);
        var members = new TDevice[group.Size];
        FillMembers(group, meshDevices, members);
        return members;
    }

    /// <summary>
    /// <see cref="Members{TDevice}"/> into <paramref name="members"/> (of the group's size), for engines that reuse their arrays;
    /// the group has passed <see cref="CheckGroup"/>, which sizing the array needed first.
    /// </summary>
    protected static void FillMembers<TDevice>(DeviceGroup group, IReadOnlyList<TDevice> meshDevices, TDevice[] members) where TDevice : Device
    {
        for (int i = 0; i < members.Length; i++)
        {
            var d = group.Members[i];
            if (d is not TDevice device || (uint)d.Rank >= (uint)meshDevices.Count || !ReferenceEquals(meshDevices[d.Rank], device))
                throw new ArgumentException($"Member {i} ({d?.Name ?? "null"}) of {group.Name} is not a device of this mesh.", nameof(group));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(members[j], device))
                    throw new ArgumentException($"Device {device.Name} appears twice in {group.Name}.", nameof(group));
            members[i] = device;
        }
    }

    /// <summary>One view per member into <paramref name="result"/>, each checked against its member device.</summary>
    protected static void FillPerMember(DeviceGroup group, Device[] members, IReadOnlyList<MatrixView> views, string name, MatrixView[] result)
    {
        ArgumentNullException.ThrowIfNull(views, name);
        if (views.Count != members.Length)
            throw new ArgumentException($"{name} has {views.Count} entries but {group.Name} has {members.Length} members.", name);
        for (int i = 0; i < members.Length; i++)
        {
            // The argument name is built only for a failing check: a passing one must not allocate.
            var view = views[i];
            if (!members[i].IsValidView(view)) members[i].CheckView(view, $"{name}[{i}]");
            result[i] = view;
        }
    }

    /// <summary>views[j][i], member j's view of chunk i, into <paramref name="result"/> (rows already of the group's size), each checked against member j.</summary>
    protected static void FillMatrix(DeviceGroup group, Device[] members, IReadOnlyList<IReadOnlyList<MatrixView>> views, string name, MatrixView[][] result)
    {
        ArgumentNullException.ThrowIfNull(views, name);
        if (views.Count != members.Length)
            throw new ArgumentException($"{name} has {views.Count} rows but {group.Name} has {members.Length} members.", name);
        for (int j = 0; j < members.Length; j++)
        {
            var row = views[j];
            if (row is null || row.Count != members.Length)
                throw new ArgumentException($"{name}[{j}] must list {members.Length} views (one per member of {group.Name}).", name);
            for (int i = 0; i < members.Length; i++)
            {
                var view = row[i];
                if (!members[j].IsValidView(view)) members[j].CheckView(view, $"{name}[{j}][{i}]");
                result[j][i] = view;
            }
        }
    }

    /// <summary>AllReduce's buffers: each contiguous (the algorithms work on flat chunks) and of buffer 0's shape.</summary>
    protected static void CheckAllReduceBuffers(DeviceGroup group, MatrixView[] views, string name)
    {
        for (int i = 0; i < views.Length; i++)
        {
            if (!views[i].IsContiguous)
                throw new ArgumentException($"AllReduce over {group.Name}: buffer {i} {views[i]} is not contiguous (stride {views[i].Stride}).", name);
            CheckSameShape(views[0], views[i], group, "AllReduce", "buffer", i, -1, name);
        }
    }

    /// <summary>Broadcast and Reduce: every member's buffer has the root's shape.</summary>
    protected static void CheckRootShape(DeviceGroup group, string op, int root, MatrixView[] views, string name)
    {
        for (int i = 0; i < views.Length; i++) CheckSameShape(views[root], views[i], group, op, "buffer", i, -1, name);
    }

    /// <summary>
    /// AllGather and ReduceScatter: member j's chunk i (<paramref name="chunks"/>[j][i]) has the shape of member i's
    /// own view (its shard, or its result). Returns the elements of all members' own views together.
    /// </summary>
    protected static long CheckChunks(DeviceGroup group, string op, MatrixView[] own, MatrixView[][] chunks, string what, string name)
    {
        long total = 0;
        for (int i = 0; i < own.Length; i++)
        {
            total += own[i].Elements;
            for (int j = 0; j < own.Length; j++)
                CheckSameShape(own[i], chunks[j][i], group, op, what, j, i, name);
        }
        return total;
    }

    protected static void CheckRoot(DeviceGroup group, int root)
    {
        if (root < 0 || root >= group.Size)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"Root must be a member index of {group.Name} (0..{group.Size - 1}).");
    }

    /// <summary>
    /// Refuses <paramref name="actual"/> unless it has <paramref name="expected"/>'s shape. It is named "what i" (j &lt; 0)
    /// or "what[i][j]", formatted only when the check fails: passing checks run on every call and must not allocate.
    /// </summary>
    protected static void CheckSameShape(MatrixView expected, MatrixView actual, DeviceGroup group, string op, string what, int i, int j, string name)
    {
        if (expected.Rows != actual.Rows || expected.Cols != actual.Cols)
            throw new ArgumentException(
                $"{op} over {group.Name}: {what}{(j < 0 ? $" {i}" : $"[{i}][{j}]")} is {actual.Rows}×{actual.Cols} but {expected.Rows}×{expected.Cols} is expected.", name);
    }
}
