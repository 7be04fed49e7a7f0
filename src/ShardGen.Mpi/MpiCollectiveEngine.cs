using System;
using System.Collections.Generic;
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
/// Bytes are counted from the in-process backends' schedules, for the local device only: the per-forward
/// <see cref="TrafficReport"/> adds up every rank's figures over MPI (see <see cref="MpiDeviceMesh"/>).
/// </summary>
public sealed unsafe class MpiCollectiveEngine : CollectiveEngine
{
    private readonly MpiDeviceMesh _mesh;
    private readonly Dictionary<DeviceGroup, GroupInfo> _groups = new(ReferenceEqualityComparer.Instance);

    internal MpiCollectiveEngine(CollectiveStats stats, MpiDeviceMesh mesh) : base(stats) => _mesh = mesh;

    public override void AllReduce(DeviceGroup group, IReadOnlyList<MatrixView> buffers)
    {
        var info = Resolve(group);
        int g = info.Size, me = info.Member;
        var views = info.Views;
        FillPerMember(group, info.Members, buffers, nameof(buffers), views);
        CheckAllReduceBuffers(group, views, nameof(buffers));
        int n = views[0].Elements;
        bool communicates = me >= 0 && g > 1 && n > 0;
        if (me >= 0 && g > 1)
        {
            var local = views[me];
            if (n > 0)
            {
                float* p = Begin(local, out bool staged);
                Step(info, MpiStep.AllReduce, n);
                info.Comm!.AllReduceSum(p, n);
                End(local, p, staged);
            }
        }
        if (!communicates) _mesh.Guard.Skip(MpiStep.AllReduce);
        for (int c = 0; c < g; c++) info.Counts[c] = EvenRanges.Length(n, g, c); // the ring's chunks
        Account(CollectiveKind.AllReduce, group, info, 0, n, info.Counts);
    }

    public override void AllGather(DeviceGroup group, IReadOnlyList<MatrixView> shards, IReadOnlyList<IReadOnlyList<MatrixView>> targets)
    {
        var info = Resolve(group);
        int g = info.Size, me = info.Member;
        var shardViews = info.Views;
        var targetViews = info.Chunks;
        FillPerMember(group, info.Members, shards, nameof(shards), shardViews);
        FillMatrix(group, info.Members, targets, nameof(targets), targetViews);
        CheckChunks(group, "AllGather", shardViews, targetViews, "targets", nameof(targets));
        long total = CountChunks(info, group, "AllGather", nameof(shards));
        var counts = info.Counts;
        var displacements = info.Displacements;
        if (me < 0 || g == 1) _mesh.Guard.Skip(MpiStep.AllGather);
        if (me >= 0)
        {
            var mine = targetViews[me];
            var shard = shardViews[me];
            if (g == 1)
            {
                LocalCopy(shard, mine[0]);
            }
            else if (Consecutive(mine, out float* receive))
            {
                // Targets tile one contiguous range (token ranges of a full activation): receive in place, and send
                // nothing (MPI_IN_PLACE) when the shard already is its own target chunk.
                float* send = shard == mine[me] ? null : Begin(shard, out _);
                Step(info, MpiStep.AllGather, total);
                info.Comm!.AllGatherV(send, counts[me], receive, counts, displacements);
            }
            else
            {
                // Strided targets (column shards of a full activation): gather packed, then place each shard.
                float* packed = Staging(total);
                Pack(shard, packed + displacements[me]);
                Step(info, MpiStep.AllGather, total);
                info.Comm!.AllGatherV(null, counts[me], packed, counts, displacements);
                for (int i = 0; i < g; i++) Unpack(packed + displacements[i], mine[i]);
            }
        }
        Account(CollectiveKind.AllGather, group, info, 0, total, counts);
    }

    public override void ReduceScatter(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> parts, IReadOnlyList<MatrixView> results)
    {
        var info = Resolve(group);
        int g = info.Size, me = info.Member;
        var partViews = info.Chunks;
        var resultViews = info.Views;
        FillMatrix(group, info.Members, parts, nameof(parts), partViews);
        FillPerMember(group, info.Members, results, nameof(results), resultViews);
        CheckChunks(group, "ReduceScatter", resultViews, partViews, "parts", nameof(parts));
        long total = CountChunks(info, group, "ReduceScatter", nameof(parts));
        var counts = info.Counts;
        var offsets = info.Displacements;
        if (me < 0 || g == 1) _mesh.Guard.Skip(MpiStep.ReduceScatter);
        if (me >= 0)
        {
            var mine = partViews[me];
            var result = resultViews[me];
            if (g == 1)
            {
                LocalCopy(mine[0], result);
            }
            else
            {
                // Send: the chunks in member order, straight from the device when they tile one range, else packed.
                // Receive: into the result when it is contiguous device memory, else after the packed chunks.
                bool sendDirect = Consecutive(mine, out float* send);
                bool receiveDirect = IsDirect(result);
                float* staging = sendDirect && receiveDirect ? null : Staging(total + counts[me]);
                if (!sendDirect)
                {
                    send = staging;
                    for (int i = 0; i < g; i++) Pack(mine[i], send + offsets[i]);
                }
                float* receive = receiveDirect ? CpuDeviceBuffer.Pointer(result) : staging + (sendDirect ? 0 : total);
                Step(info, MpiStep.ReduceScatter, total);
                info.Comm!.ReduceScatterSum(send, receive, counts);
                if (!receiveDirect) Unpack(receive, result);
            }
        }
        Account(CollectiveKind.ReduceScatter, group, info, 0, total, counts);
    }

    public override void Broadcast(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var info = Resolve(group);
        int g = info.Size, me = info.Member;
        CheckRoot(group, root);
        var views = info.Views;
        FillPerMember(group, info.Members, buffers, nameof(buffers), views);
        CheckRootShape(group, "Broadcast", root, views, nameof(buffers));
        int n = views[root].Elements;
        if (me < 0 || g == 1 || n == 0) _mesh.Guard.Skip(MpiStep.Broadcast);
        if (me >= 0)
        {
            if (g > 1 && n > 0)
            {
                // Staged, the root only packs (its buffer is what is sent) and the others only unpack (theirs is overwritten).
                float* p = Begin(views[me], out bool staged, packContents: me == root);
                Step(info, MpiStep.Broadcast, n);
                info.Comm!.Broadcast(p, n, root);
                if (me != root) End(views[me], p, staged);
            }
        }
        Account(CollectiveKind.Broadcast, group, info, root, n, new ReadOnlySpan<int>(ref n));
    }

    public override void Reduce(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers)
    {
        var info = Resolve(group);
        int g = info.Size, me = info.Member;
        CheckRoot(group, root);
        var views = info.Views;
        FillPerMember(group, info.Members, buffers, nameof(buffers), views);
        CheckRootShape(group, "Reduce", root, views, nameof(buffers));
        int n = views[root].Elements;
        if (me < 0 || g == 1 || n == 0) _mesh.Guard.Skip(MpiStep.Reduce);
        if (me >= 0)
        {
            if (g > 1 && n > 0)
            {
                float* p = Begin(views[me], out bool staged);
                Step(info, MpiStep.Reduce, n);
                info.Comm!.ReduceSum(p, n, root);
                if (me == root) End(views[me], p, staged);
            }
        }
        Account(CollectiveKind.Reduce, group, info, root, n, new ReadOnlySpan<int>(ref n));
    }

    // ---- Groups and checks --------------------------------------------------------------------------

    /// <summary>The group, checked on first use, with its communicator and per-call arrays; drains the local queue if it is a member.</summary>
    private GroupInfo Resolve(DeviceGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        // A group is checked once (its member list is immutable in practice: the mesh's world and grid groups).
        if (!_groups.TryGetValue(group, out var known) || known.Size != group.Size)
        {
            known = Check(group);
            _groups[group] = known;
        }
        if (known.Member >= 0) _mesh.LocalDevice.Synchronize(); // collectives run after the kernels enqueued before them
        return known;
    }

    /// <summary>The step guard's header exchange, right before the group's MPI call (nothing after it can throw).</summary>
    private void Step(GroupInfo info, MpiStep step, long elements) => _mesh.Guard.Enter(info.Comm!, info.WorldRanks, step, elements, info.Label);

    private GroupInfo Check(DeviceGroup group)
    {
        var members = Members(group, _mesh.Devices);
        int member = LocalMember(members);
        var comm = _mesh.CommunicatorOf(group, member);
        if (member >= 0 && (comm is null || comm.Size != group.Size || comm.Rank != member))
            throw new InvalidOperationException($"The communicator of {group.Name} does not match the group (member {member} of {group.Size}).");
        return new GroupInfo(members, member, comm, group.Name);
    }

    /// <summary>The member index of this rank's device, or −1 when it is not in the group.</summary>
    private static int LocalMember(Device[] members)
    {
        for (int i = 0; i < members.Length; i++)
            if (members[i].IsLocal) return i;
        return -1;
    }

    /// <summary>
    /// A checked group and the arrays its calls fill: reused by every call on the group, since SPMD code issues
    /// collectives from one thread (the engine is single-threaded by design), so a steady stream allocates nothing.
    /// </summary>
    private sealed class GroupInfo(Device[] members, int member, MpiCommunicator? comm, string name)
    {
        public Device[] Members { get; } = members;

        /// <summary>The members' MPI ranks, and the group's name for step headers (see <see cref="MpiStepGuard"/>).</summary>
        public int[] WorldRanks { get; } = Array.ConvertAll(members, d => d.Rank);
        public byte[] Label { get; } = System.Text.Encoding.ASCII.GetBytes(name);
        public int Size => Members.Length;

        /// <summary>The local device's member index, or −1.</summary>
        public int Member { get; } = member;

        /// <summary>The group's communicator; null where this rank is not a member.</summary>
        public MpiCommunicator? Comm { get; } = comm;

        /// <summary>One view per member: buffers, shards or results.</summary>
        public MatrixView[] Views { get; } = new MatrixView[members.Length];

        /// <summary>[j][i]: member j's view of chunk i (targets or parts).</summary>
        public MatrixView[][] Chunks { get; } = Square(members.Length);

        /// <summary>MPI's per-member counts and displacements (floats).</summary>
        public int[] Counts { get; } = new int[members.Length];
        public int[] Displacements { get; } = new int[members.Length];

        private static MatrixView[][] Square(int g)
        {
            var rows = new MatrixView[g][];
            for (int j = 0; j < g; j++) rows[j] = new MatrixView[g];
            return rows;
        }
    }

    /// <summary>
    /// Exclusive prefix sum: <paramref name="displacements"/>[i] = counts[0] + … + counts[i−1]; returns the total.
    /// A total past int.MaxValue wraps the displacements, so callers refuse it before MPI sees them.
    /// </summary>
    internal static long PrefixSum(int[] counts, int[] displacements)
    {
        long total = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            displacements[i] = (int)total;
            total += counts[i];
        }
        return total;
    }

    /// <summary>
    /// AllGather and ReduceScatter: every member's own view (shard or result) is one chunk; their sizes go into Counts,
    /// their offsets into Displacements. Returns the total, refused when it does not fit MPI's int counts.
    /// </summary>
    private static long CountChunks(GroupInfo info, DeviceGroup group, string op, string name)
    {
        for (int i = 0; i < info.Size; i++) info.Counts[i] = info.Views[i].Elements;
        long total = PrefixSum(info.Counts, info.Displacements);
        if (total > int.MaxValue) throw new ArgumentException($"{op} over {group.Name}: {total} floats exceed MPI's int counts.", name);
        return total;
    }

    /// <summary>
    /// Counts the call as the in-process backends run it, from the same <see cref="CollectiveSchedule"/>: the local
    /// member's bytes (chunk c holding <paramref name="chunkElements"/>[c] floats), and the call's record.
    /// </summary>
    private void Account(CollectiveKind kind, DeviceGroup group, GroupInfo info, int root, long elements, ReadOnlySpan<int> chunkElements)
    {
        var schedule = CollectiveSchedule.For(kind, info.Size, root);
        if (info.Member >= 0)
        {
            long floats = schedule.ElementsSent(chunkElements, info.Member);
            if (floats > 0) Stats.AddBytesSent(_mesh.LocalRank, floats * sizeof(float));
        }
        Record(kind, group, elements, schedule.ElementsSent(chunkElements));
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
        start = CpuDeviceBuffer.Pointer(first);
        return true;
    }

    /// <summary>
    /// The view's memory for MPI: the device memory itself when direct, else host staging, holding a packed copy
    /// of the view unless <paramref name="packContents"/> is false (MPI only writes it).
    /// </summary>
    private float* Begin(MatrixView view, out bool staged, bool packContents = true)
    {
        staged = !IsDirect(view);
        if (!staged) return CpuDeviceBuffer.Pointer(view);
        float* p = Staging(view.Elements);
        if (packContents) Pack(view, p);
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
            Elementwise.Copy(CpuDeviceBuffer.Pointer(view), view.Stride, destination, view.Cols, view.Rows, view.Cols);
        else
            view.Device.Download(view, new Span<float>(destination, view.Elements), view.Cols);
    }

    private static void Unpack(float* source, MatrixView view)
    {
        if (view.Elements == 0) return;
        if (view.Device is CpuDevice)
            Elementwise.Copy(source, view.Cols, CpuDeviceBuffer.Pointer(view), view.Stride, view.Rows, view.Cols);
        else
            view.Device.Upload(new ReadOnlySpan<float>(source, view.Elements), view.Cols, view);
    }

    private static void LocalCopy(MatrixView source, MatrixView destination)
    {
        if (source == destination || source.Elements == 0) return;
        if (source.Device is CpuDevice)
        {
            Elementwise.Copy(CpuDeviceBuffer.Pointer(source), source.Stride, CpuDeviceBuffer.Pointer(destination), destination.Stride, source.Rows, source.Cols);
        }
        else
        {
            source.Device.Copy(source, destination);
            source.Device.Synchronize();
        }
    }

    /// <summary>The mesh's host staging memory, at least <paramref name="floats"/> floats (never null).</summary>
    private float* Staging(long floats) => _mesh.Staging.Ensure((nint)floats);
}
