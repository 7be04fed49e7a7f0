using System;
using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Collectives;

// Argument checks and bookkeeping every backend's collectives share: the same rules and the same words.
public abstract partial class CollectiveEngine
{
    /// <summary>Adds one record for a call that sent <paramref name="floatsSent"/> floats in total.</summary>
    protected void Record(CollectiveKind kind, DeviceGroup group, long elements, long floatsSent) =>
        Stats.AddRecord(new CollectiveRecord(kind, group.Name, group.Size, elements, floatsSent * sizeof(float)));

    /// <summary>The group's members as this backend's devices, checked to belong to <paramref name="meshDevices"/> (indexed by rank) once each.</summary>
    protected static TDevice[] Members<TDevice>(DeviceGroup group, IReadOnlyList<TDevice> meshDevices) where TDevice : Device
    {
        ArgumentNullException.ThrowIfNull(group);
        if (group.Size == 0) throw new ArgumentException($"Group {group.Name} has no members.", nameof(group));
        var members = new TDevice[group.Size];
        for (int i = 0; i < members.Length; i++)
        {
            var d = group.Members[i];
            if (d is not TDevice device || d.Rank >= meshDevices.Count || !ReferenceEquals(meshDevices[d.Rank], device))
                throw new ArgumentException($"Member {i} ({d?.Name ?? "null"}) of {group.Name} is not a device of this mesh.", nameof(group));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(members[j], device))
                    throw new ArgumentException($"Device {device.Name} appears twice in {group.Name}.", nameof(group));
            members[i] = device;
        }
        return members;
    }

    /// <summary>One view per member, each checked against its member device.</summary>
    protected static MatrixView[] PerMember(DeviceGroup group, Device[] members, IReadOnlyList<MatrixView> views, string name)
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

    /// <summary>views[j][i]: member j's view for block i, each checked against member j.</summary>
    protected static MatrixView[][] Matrix(DeviceGroup group, Device[] members, IReadOnlyList<IReadOnlyList<MatrixView>> views, string name)
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

    protected static void CheckRoot(DeviceGroup group, int root)
    {
        if (root < 0 || root >= group.Size)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"Root must be a member index of {group.Name} (0..{group.Size - 1}).");
    }

    protected static void SameShape(MatrixView expected, MatrixView actual, DeviceGroup group, string op, string what, string name)
    {
        if (expected.Rows != actual.Rows || expected.Cols != actual.Cols)
            throw new ArgumentException($"{op} over {group.Name}: {what} is {actual.Rows}×{actual.Cols} but {expected.Rows}×{expected.Cols} is expected.", name);
    }
}
