using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Kernels;
using ShardGen.Planning;

namespace ShardGen.Mpi;

/// <summary>
/// The collectives of an <see cref="MpiDeviceMesh"/>. Every rank makes every call (SPMD) with the views of all
/// members; the local member's views go to MPI on the group's communicator, the others are the placeholders of
/// remote devices. A rank outside the group only records the call. The local device's queue is drained first,
/// so a collective is ordered after the kernels enqueued before it, as on the in-process mesh.
/// Bytes are counted with the in-process ring's per-member formulas, for the local device only: the per-forward
/// <see cref="TrafficReport"/> adds up every rank's figures over MPI (see <see cref="MpiDeviceMesh"/>).
/// </summary>
public sealed unsafe class MpiCollectiveEngine : CollectiveEngine
{
    private readonly MpiDeviceMesh _mesh;
    private readonly Dictionary<DeviceGroup, GroupInfo> _groups = new(ReferenceEqualityComparer.Instance);
    private float* _scratch;
    private nint _scratchCapacity;

    internal MpiCollectiveEngine(CollectiveStats stats, MpiDeviceMesh mesh) : base(stats) => _mesh = mesh;

    public override void AllReduce(DeviceGroup group, IReadOnlyList<MatrixView> buffers)
    {
        var (g, me, comm) = Resolve(group);
        ArgumentNullException.ThrowIfNull(buffers);
        if (buffers.Count != g)
            throw new ArgumentException($"{nameof(buffers)} has {buffers.Count} entries but {group.Name} has {g} members.", nameof(buffers));
        var first = buffers[0];
        for (int i = 0; i < g; i++)
        {
            var view = buffers[i];
            CheckView(group.Members[i], view, nameof(buffers), i);
            if (!view.IsContiguous)
                throw new ArgumentException($"AllReduce over {group.Name}: buffer {i} {view} is not contiguous (stride {view.Stride}).", nameof(buffers));
            SameShape(first, view, group, "AllReduce", "buffer", i, -1, nameof(buffers));
        }
        int n = first.Elements;
        if (me >= 0 && g > 1)
        {
            // The in-process ring's bytes for member m: 2N − |chunk m+1| − |chunk m+2| floats.
            Count(2L * n - BlockPartition.Length(n, g, (me + 1) % g) - BlockPartition.Length(n, g, (me + 2) % g));
            var local = buffers[me];
            if (n > 0)
            {
                float* p = Begin(local, out bool staged);
                comm!.AllReduceSum(p, n);
                End(local, p, staged);
            }
        }
        Record(CollectiveKind.AllReduce, group, n, 2L * (g - 1) * n);
    }

    public override void AllGather(DeviceGroup group, IReadOnlyList<MatrixView> shards, IReadOnlyList<IReadOnlyList<MatrixView>> targets)
    {
        var (g, me, comm) = Resolve(group);
        var shardViews = PerMember(group, shards, nameof(shards));
        var targetViews = Matrix(group, targets, nameof(targets));
        long total = 0;
        var counts = new int[g];
        var displacements = new int[g];
        for (int i = 0; i < g; i++)
        {
            counts[i] = shardViews[i].Elements;
            displacements[i] = (int)total;
            total += counts[i];
            for (int j = 0; j < g; j++)
                SameShape(shardViews[i], targetViews[j][i], group, "AllGather", "targets", j, i, nameof(targets));
        }
        if (total > int.MaxValue) throw new ArgumentException($"AllGather over {group.Name}: {total} floats exceed MPI's int counts.", nameof(shards));
        if (me >= 0)
        {
            Count(total - counts[(me + 1) % g]);
            var mine = targetViews[me];
            var shard = shardViews[me];
            if (g == 1)
            {
                LocalCopy(shard, mine[0]);
            }
            else if (Consecutive(mine, out float* receive))
            {
                // Targets tile one contiguous range (token blocks of a full activation): receive in place.
                float* send = null;
                if (shard != mine[me])
                {
                    send = Begin(shard, out _);
                    comm!.AllGatherV(send, counts[me], receive, counts, displacements);
                }
                else
                {
                    comm!.AllGatherV(null, counts[me], receive, counts, displacements);
                }
            }
            else
            {
                // Strided targets (column shards of a full activation): gather packed, then place each shard.
                float* packed = Scratch(total + 1);
                Pack(shard, packed + displacements[me]);
                comm!.AllGatherV(null, counts[me], packed, counts, displacements);
                for (int i = 0; i < g; i++) Unpack(packed + displacements[i], mine[i]);
            }
        }
        Record(CollectiveKind.AllGather, group, total, (g - 1) * total);
    }

    public override void ReduceScatter(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> parts, IReadOnlyList<MatrixView> results)
    {
        var (g, me, comm) = Resolve(group);
        var partViews = Matrix(group, parts, nameof(parts));
        var resultViews = PerMember(group, results, nameof(results));
        long total = 0;
        var counts = new int[g];
        var offsets = new long[g];
        for (int i = 0; i < g; i++)
        {
            counts[i] = resultViews[i].Elements;
            offsets[i] = total;
            total += counts[i];
            for (int j = 0; j < g; j++)
                SameShape(resultViews[i], partViews[j][i], group, "ReduceScatter", "parts", j, i, nameof(parts));
        }
        if (total > int.MaxValue) throw new ArgumentException($"ReduceScatter over {group.Name}: {total} floats exceed MPI's int counts.", nameof(parts));
        if (me >= 0)
        {
            Count(total - counts[me]);
            var mine = partViews[me];
            var result = resultViews[me];
            if (g == 1)
            {
                LocalCopy(mine[0], result);
            }
            else
            {
                // Send: the blocks in member order, straight from the device when they tile one range, else packed.
                // Receive: into the result when it is contiguous device memory, else after the packed blocks.
                bool direct = Consecutive(mine, out float* send);
                bool resultDirect = IsDirect(result);
                float* scratch = direct && resultDirect ? null : Scratch(total + counts[me] + 1);
                if (!direct)
                {
                    send = scratch;
                    for (int i = 0; i < g; i++) Pack(mine[i], send + offsets[i]);
                }
                if (scratch == null && counts[me] == 0) scratch = Scratch(1);
                float* receive = resultDirect && counts[me] > 0 ? CpuDevice.Pointer(result) : scratch + (direct ? 0 : total);
                comm!.ReduceScatterSum(send, receive, counts);
                if (!resultDirect) Unpack(receive, result);
            }
        }
        Record(CollectiveKind.ReduceScatter, group, total, (g - 1) * total);
    }

    public override void Broadcast(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var (g, me, comm) = Resolve(group);
        CheckRoot(group, root);
        var views = PerMember(group, buffers, nameof(buffers));
        for (int i = 0; i < g; i++) SameShape(views[root], views[i], group, "Broadcast", "buffer", i, -1, nameof(buffers));
        int n = views[root].Elements;
        if (me >= 0)
        {
            if (me == root && n > 0) Count((long)(g - 1) * n);
            if (g > 1 && n > 0)
            {
                float* p = Begin(views[me], out bool staged);
                comm!.Broadcast(p, n, root);
                End(views[me], p, staged);
            }
        }
        Record(CollectiveKind.Broadcast, group, n, (long)(g - 1) * n);
    }

    public override void Reduce(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var (g, me, comm) = Resolve(group);
        CheckRoot(group, root);
        var views = PerMember(group, buffers, nameof(buffers));
        for (int i = 0; i < g; i++) SameShape(views[root], views[i], group, "Reduce", "buffer", i, -1, nameof(buffers));
        int n = views[root].Elements;
        if (me >= 0)
        {
            if (me != root && n > 0) Count(n);
            if (g > 1 && n > 0)
            {
                float* p = Begin(views[me], out bool staged);
                comm!.ReduceSum(p, n, root);
                if (me == root) End(views[me], p, staged);
            }
        }
        Record(CollectiveKind.Reduce, group, n, (long)(g - 1) * n);
    }

    // ---- Groups and checks --------------------------------------------------------------------------

    /// <summary>Group size, the local device's member index (−1 if it is not a member) and the group's communicator.</summary>
    private (int Size, int Member, MpiCommunicator? Comm) Resolve(DeviceGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        // A group is checked once (its member list is immutable in practice: the mesh's world and grid groups).
        if (!_groups.TryGetValue(group, out var known) || !ReferenceEquals(known.Members, group.Members) || known.Size != group.Size)
        {
            known = Check(group);
            _groups[group] = known;
        }
        if (known.Member >= 0) _mesh.LocalDevice.Synchronize(); // collectives run after the kernels enqueued before them
        return (known.Size, known.Member, known.Comm);
    }

    private GroupInfo Check(DeviceGroup group)
    {
        if (group.Size == 0) throw new ArgumentException($"Group {group.Name} has no members.", nameof(group));
        int member = -1;
        for (int i = 0; i < group.Size; i++)
        {
            var d = group.Members[i];
            if (d is null || d.Rank < 0 || d.Rank >= _mesh.Size || !ReferenceEquals(_mesh.Devices[d.Rank], d))
                throw new ArgumentException($"Member {i} ({d?.Name ?? "null"}) of {group.Name} is not a device of this mesh.", nameof(group));
            for (int j = 0; j < i; j++)
                if (ReferenceEquals(group.Members[j], d))
                    throw new ArgumentException($"Device {d.Name} appears twice in {group.Name}.", nameof(group));
            if (d.IsLocal) member = i;
        }
        var comm = _mesh.CommunicatorOf(group, member);
        if (member >= 0 && (comm is null || comm.Size != group.Size || comm.Rank != member))
            throw new InvalidOperationException($"The communicator of {group.Name} does not match the group (member {member} of {group.Size}).");
        return new GroupInfo(group.Members, group.Size, member, comm);
    }

    private sealed record GroupInfo(IReadOnlyList<Device> Members, int Size, int Member, MpiCommunicator? Comm);

    private static MatrixView[] PerMember(DeviceGroup group, IReadOnlyList<MatrixView> views, string name)
    {
        ArgumentNullException.ThrowIfNull(views, name);
        if (views.Count != group.Size)
            throw new ArgumentException($"{name} has {views.Count} entries but {group.Name} has {group.Size} members.", name);
        var result = new MatrixView[group.Size];
        for (int i = 0; i < result.Length; i++)
        {
            CheckView(group.Members[i], views[i], name, i);
            result[i] = views[i];
        }
        return result;
    }

    private static MatrixView[][] Matrix(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> views, string name)
    {
        ArgumentNullException.ThrowIfNull(views, name);
        if (views.Count != group.Size)
            throw new ArgumentException($"{name} has {views.Count} rows but {group.Name} has {group.Size} members.", name);
        var result = new MatrixView[group.Size][];
        for (int j = 0; j < group.Size; j++)
        {
            if (views[j] is null || views[j].Count != group.Size)
                throw new ArgumentException($"{name}[{j}] must list {group.Size} views (one per member of {group.Name}).", name);
            result[j] = new MatrixView[group.Size];
            for (int i = 0; i < group.Size; i++)
            {
                CheckView(group.Members[j], views[j][i], name, j, i);
                result[j][i] = views[j][i];
            }
        }
        return result;
    }

    // Names are formatted only when a check fails: these run on every call, next to MPI calls of a few microseconds.
    private static void CheckView(Device member, MatrixView view, string list, int i, int j = -1)
    {
        string Name() => j < 0 ? $"{list}[{i}]" : $"{list}[{i}][{j}]";
        if (view.Buffer is null)
            throw new ArgumentException($"{Name()} is an empty MatrixView with no buffer.", list);
        if (!ReferenceEquals(view.Buffer.Device, member))
            throw new ArgumentException($"{Name()} {view} belongs to device {view.Buffer.Device.Name}, not to {member.Name}.", list);
        if (view.Rows < 0 || view.Cols < 0 || view.Offset < 0 || (view.Rows > 1 && view.Stride < view.Cols))
            throw new ArgumentException($"{Name()} has a bad shape ({view.Rows}×{view.Cols} at {view.Offset}, stride {view.Stride}).", list);
        if (view.Rows > 0 && view.Cols > 0 && view.Offset + (long)(view.Rows - 1) * view.Stride + view.Cols > view.Buffer.Length)
            throw new ArgumentException($"{Name()} {view} ends past its buffer's {view.Buffer.Length} elements.", list);
        if (view.Buffer.IsDisposed)
            throw new ObjectDisposedException(list, $"{Name()} {view} on {member.Name} uses a buffer that was disposed.");
    }

    private static void SameShape(MatrixView expected, MatrixView actual, DeviceGroup group, string op, string what, int i, int j, string name)
    {
        if (expected.Rows != actual.Rows || expected.Cols != actual.Cols)
            throw new ArgumentException(
                $"{op} over {group.Name}: {what}{(j < 0 ? $" {i}" : $"[{i}][{j}]")} is {actual.Rows}×{actual.Cols} but {expected.Rows}×{expected.Cols} is expected.", name);
    }

    private void Count(long floats)
    {
        if (floats > 0) Stats.AddBytesSent(_mesh.LocalRank, floats * sizeof(float));
    }

    // ---- Local memory ---------------------------------------------------------------------------------

    /// <summary>True when MPI can work on the view's memory directly: a contiguous view of the local CPU device.</summary>
    private static bool IsDirect(MatrixView view) => view.Device is CpuDevice && view.IsContiguous;

    /// <summary>
    /// True when <paramref name="views"/> tile one contiguous range of one CPU buffer, in order; <paramref name="start"/>
    /// is its first element. (Empty views anywhere are fine.)
    /// </summary>
    private static bool Consecutive(MatrixView[] views, out float* start)
    {
        start = null;
        var first = views[0];
        if (first.Device is not CpuDevice) return false;
        long next = first.Offset;
        foreach (var v in views)
        {
            if (!ReferenceEquals(v.Buffer, first.Buffer) || !v.IsContiguous) return false;
            if (v.Elements == 0) continue;
            if (v.Offset != next) return false;
            next += v.Elements;
        }
        start = CpuDevice.Pointer(new MatrixView(first.Buffer, first.Offset, 0, 0, 0));
        return true;
    }

    /// <summary>The view's memory for MPI: the device memory itself when direct, else a packed host copy.</summary>
    private float* Begin(MatrixView view, out bool staged)
    {
        staged = !IsDirect(view);
        if (!staged) return CpuDevice.Pointer(view);
        float* p = Scratch(view.Elements + 1);
        Pack(view, p);
        return p;
    }

    /// <summary>Writes a staged copy back into the view.</summary>
    private void End(MatrixView view, float* p, bool staged)
    {
        if (staged) Unpack(p, view);
    }

    private static void Pack(MatrixView view, float* destination)
    {
        if (view.Elements == 0) return;
        if (view.Device is CpuDevice)
            Elementwise.Copy(CpuDevice.Pointer(view), view.Stride, destination, view.Cols, view.Rows, view.Cols);
        else
            view.Device.Download(view, new Span<float>(destination, view.Elements), view.Cols);
    }

    private static void Unpack(float* source, MatrixView view)
    {
        if (view.Elements == 0) return;
        if (view.Device is CpuDevice)
            Elementwise.Copy(source, view.Cols, CpuDevice.Pointer(view), view.Stride, view.Rows, view.Cols);
        else
            view.Device.Upload(new ReadOnlySpan<float>(source, view.Elements), view.Cols, view);
    }

    private static void LocalCopy(MatrixView source, MatrixView destination)
    {
        if (source == destination || source.Elements == 0) return;
        if (source.Device is CpuDevice)
        {
            Elementwise.Copy(CpuDevice.Pointer(source), source.Stride, CpuDevice.Pointer(destination), destination.Stride, source.Rows, source.Cols);
        }
        else
        {
            source.Device.Copy(source, destination);
            source.Device.Synchronize();
        }
    }

    /// <summary>Host staging memory of at least <paramref name="floats"/> floats, reused across calls.</summary>
    private float* Scratch(long floats)
    {
        if (floats <= _scratchCapacity && _scratch != null) return _scratch;
        if (_scratch != null) NativeMemory.AlignedFree(_scratch);
        _scratch = (float*)NativeMemory.AlignedAlloc((nuint)(Math.Max(floats, 16) * sizeof(float)), 64);
        _scratchCapacity = (nint)Math.Max(floats, 16);
        return _scratch;
    }

    internal void FreeScratch()
    {
        if (_scratch != null) NativeMemory.AlignedFree(_scratch);
        _scratch = null;
        _scratchCapacity = 0;
    }
}
