using System;
using System.Threading;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Collectives;

/// <summary>
/// One in-process collective call, shared by its members: each member's part runs on that member's worker, in queue
/// order with its kernels, and walks the call's <see cref="CollectiveSchedule"/> step by step: "send, meet,
/// receive". How a chunk moves is the backend's transport (the abstract members): the CPU copies between host
/// buffers directly, an accelerator goes through receive slots. Bytes are counted here, for the sender of every
/// transfer. Ops are reused: the engine fills one from its pool, and the last member to finish hands it back, so a
/// steady stream of collectives allocates nothing.
/// </summary>
internal abstract class ScheduledCollective<TDevice> where TDevice : Device
{
    private readonly CollectiveStats _stats;
    private readonly int[] _chunkElements;
    private readonly int[] _chunkStart; // AllReduce: where chunk c starts in each member's buffer
    private CollectivePool<TDevice>? _pool;
    private int _running;
    private volatile bool _failed;
    private int _elements;

    protected ScheduledCollective(CollectiveKind kind, int size, CollectiveStats stats)
    {
        Kind = kind;
        _stats = stats;
        Members = new TDevice[size];
        MemberViews = new MatrixView[size];
        ChunkViews = new MatrixView[size][];
        for (int j = 0; j < size; j++) ChunkViews[j] = new MatrixView[size];
        _chunkElements = new int[size];
        _chunkStart = new int[size];
        Barrier = new CollectiveBarrier(size);
        Schedule = CollectiveSchedule.For(kind, size);
    }

    public CollectiveKind Kind { get; }

    /// <summary>The group's devices, member order; filled by the engine before each use.</summary>
    public TDevice[] Members { get; }

    /// <summary>One view per member: the buffers (AllReduce, Broadcast, Reduce), shards (AllGather) or results (ReduceScatter).</summary>
    public MatrixView[] MemberViews { get; }

    /// <summary>ChunkViews[j][i]: member j's view of chunk i, the targets (AllGather) or parts (ReduceScatter).</summary>
    public MatrixView[][] ChunkViews { get; }

    public CollectiveSchedule Schedule { get; private set; }

    protected int Size => Members.Length;

    protected CollectiveBarrier Barrier { get; }

    /// <summary>Floats of the call (the record's element count): one buffer, or all shards or results together.</summary>
    public long Elements { get; private set; }

    /// <summary>Floats the schedule sends in total (the record's traffic).</summary>
    public long ElementsSent => Schedule.ElementsSent(_chunkElements);

    /// <summary>Called by the engine once the views are filled and checked, before the op is enqueued on the members.</summary>
    public void Start(CollectivePool<TDevice> pool, int root)
    {
        if (Kind is CollectiveKind.Broadcast or CollectiveKind.Reduce) Schedule = CollectiveSchedule.For(Kind, Size, root);
        _elements = MemberViews[Kind is CollectiveKind.Broadcast or CollectiveKind.Reduce ? root : 0].Elements;
        long total = 0;
        for (int c = 0; c < Schedule.Chunks; c++)
        {
            total += _chunkElements[c] = ChunkElements(c);
            if (Kind == CollectiveKind.AllReduce) _chunkStart[c] = EvenRanges.Start(_elements, Size, c);
        }
        Elements = Kind is CollectiveKind.AllGather or CollectiveKind.ReduceScatter ? total : _elements;
        _pool = pool;
        _running = Size;
    }

    public void Run(int member)
    {
        try
        {
            Prepare(member);
            Execute(member);
        }
        catch (Exception e)
        {
            _failed = true;
            Barrier.Break(e);
            throw;
        }
        finally
        {
            // Every member has left the barrier once the count reaches zero: the op may be filled again.
            // A broken barrier stays broken, so a failed op is dropped instead.
            if (Interlocked.Decrement(ref _running) == 0 && !_failed)
            {
                Array.Clear(MemberViews); // an idle op in the pool must not keep a dropped model's buffers alive
                foreach (var row in ChunkViews) Array.Clear(row);
                _pool?.Return(this);
            }
        }
    }

    private void Execute(int member)
    {
        var schedule = Schedule;
        int steps = schedule.Steps;
        // Nothing may touch a peer that is still running earlier work: meet first, unless step 0's sends leave the
        // peers alone (the CPU's pulled adds), when step 0's own meeting comes before anything touches them.
        if (steps == 0 || SendWritesPeer(schedule.Op(0))) Barrier.SignalAndWait();
        if (Kind == CollectiveKind.AllGather) LocalCopy(member, MemberViews[member], ChunkViews[member][member]);
        bool sent = false; // this step's sends already went out, fused with the last receive
        for (int step = 0; step < steps; step++)
        {
            foreach (var t in schedule.SendsOf(step, member))
            {
                if (!sent) Send(t, step & 1);
                Count(t);
            }
            Barrier.SignalAndWait();
            sent = false;
            foreach (var t in schedule.ReceivesOf(step, member))
            {
                if (CanForwardWhileAdding(t, step, member, out var next))
                {
                    AddAndForward(t, next);
                    sent = true;
                }
                else
                {
                    Receive(t, step & 1);
                }
            }
        }
        // Nobody may leave (and let its device overwrite its memory) while a peer still reads it.
        if (steps > 0 && ReceiveReadsPeer(schedule.Op(steps - 1))) Barrier.SignalAndWait();
        if (Kind == CollectiveKind.ReduceScatter) LocalCopy(member, ChunkViews[member][member], MemberViews[member]);
    }

    /// <summary>
    /// Whether the chunk added now is the one sent on in the next step (the ring all-reduce's last reduce step), and
    /// the transport can do both in one pass.
    /// </summary>
    private bool CanForwardWhileAdding(in Transfer received, int step, int member, out Transfer next)
    {
        next = default;
        if (!FusesAddAndForward || received.Op != TransferOp.Add || step + 1 >= Schedule.Steps) return false;
        var sends = Schedule.SendsOf(step + 1, member);
        if (sends.Length != 1 || sends[0].Chunk != received.Chunk || sends[0].Op != TransferOp.Copy) return false;
        next = sends[0];
        return true;
    }

    /// <summary>Chunk <paramref name="chunk"/> of member <paramref name="member"/>'s data.</summary>
    protected MatrixView Chunk(int member, int chunk)
    {
        switch (Kind)
        {
            case CollectiveKind.AllReduce:
            {
                // The buffer is contiguous: chunk c is a 1×length slice of it.
                int length = _chunkElements[chunk];
                var v = MemberViews[member];
                return new MatrixView(v.Buffer, v.Offset + _chunkStart[chunk], 1, length, length);
            }
            case CollectiveKind.AllGather or CollectiveKind.ReduceScatter:
                return ChunkViews[member][chunk];
            default:
                return MemberViews[member];
        }
    }

    private int ChunkElements(int chunk) => Kind switch
    {
        CollectiveKind.AllReduce => EvenRanges.Length(_elements, Size, chunk),
        CollectiveKind.AllGather or CollectiveKind.ReduceScatter => MemberViews[chunk].Elements,
        _ => _elements,
    };

    /// <summary>The largest chunk one message carries (an accelerator sizes its receive slots by it).</summary>
    protected long LargestChunk
    {
        get
        {
            long max = 0;
            for (int c = 0; c < Schedule.Chunks; c++) max = Math.Max(max, _chunkElements[c]);
            return max;
        }
    }

    private void Count(in Transfer t)
    {
        int elements = _chunkElements[t.Chunk];
        if (elements > 0) _stats.AddBytesSent(Members[t.From].Rank, (long)elements * sizeof(float));
    }

    // The transport: how a chunk moves between two members' devices.

    /// <summary>Own-device setup before the members meet (e.g. growing receive slots).</summary>
    protected virtual void Prepare(int member)
    {
    }

    /// <summary>Whether <see cref="Send"/> writes into the receiver's memory for this op (then the members meet before step 0).</summary>
    protected abstract bool SendWritesPeer(TransferOp op);

    /// <summary>Whether <see cref="Receive"/> reads the sender's memory for this op (then the members meet after the last step).</summary>
    protected abstract bool ReceiveReadsPeer(TransferOp op);

    /// <summary>
    /// The sender's half of a transfer, before the step's meeting (<see cref="Chunk"/> gives the views);
    /// <paramref name="slot"/> alternates by step.
    /// </summary>
    protected abstract void Send(in Transfer t, int slot);

    /// <summary>The receiver's half of a transfer, after the step's meeting.</summary>
    protected abstract void Receive(in Transfer t, int slot);

    /// <summary>Whether the transport implements <see cref="AddAndForward"/>.</summary>
    protected virtual bool FusesAddAndForward => false;

    /// <summary>Receives <paramref name="received"/> (an add) and sends its sum on as <paramref name="forwarded"/> (a copy of the same chunk), in one pass.</summary>
    protected virtual void AddAndForward(in Transfer received, in Transfer forwarded) =>
        throw new NotSupportedException();

    /// <summary>destination = source on the member's own device (skipped when they are the same view).</summary>
    protected abstract void LocalCopy(int member, MatrixView source, MatrixView destination);
}
