using System;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Planning;
using CollectiveBarrier = ShardGen.Cpu.CollectiveBarrier; // the CPU backend's breakable barrier; its op names would clash with ours

namespace ShardGen.Ilgpu;

/// <summary>
/// One collective call, shared by its members; each member's part runs on that member's worker, in queue order
/// with its kernels. The members first meet (after each has grown its receive slots), then run the same steps,
/// each "send, meet, receive": a send copies a view of the sender packed into a receive slot of another device
/// (directly or staged through host memory) and is counted for the sender, exactly as in the CPU backend.
/// Two slots alternate, so a message never overwrites one the receiver is still consuming.
/// </summary>
internal abstract class IlgpuCollectiveOp
{
    private readonly IlgpuDeviceMesh _mesh;
    private readonly CollectiveStats _stats;
    private readonly long _slotFloats;

    protected IlgpuCollectiveOp(IlgpuDevice[] members, IlgpuDeviceMesh mesh, CollectiveStats stats, long slotFloats)
    {
        Members = members;
        _mesh = mesh;
        _stats = stats;
        _slotFloats = slotFloats;
        Barrier = new CollectiveBarrier(members.Length);
    }

    protected IlgpuDevice[] Members { get; }

    protected int Size => Members.Length;

    protected CollectiveBarrier Barrier { get; }

    public void Run(int member)
    {
        try
        {
            bool staged = false;
            for (int j = 0; j < Size; j++) staged |= Mode(j, member) == IlgpuTransfer.StagedThroughHost;
            Members[member].PrepareSlots(_slotFloats, staged);
            Barrier.SignalAndWait();
            Execute(member);
        }
        catch (Exception e)
        {
            Barrier.Break(e);
            throw;
        }
    }

    protected abstract void Execute(int member);

    private IlgpuTransfer Mode(int from, int to) => _mesh.TransferBetween(Members[from].Rank, Members[to].Rank);

    /// <summary>Member <paramref name="from"/> sends <paramref name="source"/> into slot <paramref name="slot"/> of member <paramref name="to"/>.</summary>
    protected void Send(int from, int to, MatrixView source, int slot)
    {
        Members[from].SendPacked(source, Members[to], slot, Mode(from, to));
        if (source.Elements > 0) _stats.AddBytesSent(Members[from].Rank, (long)source.Elements * sizeof(float));
    }

    /// <summary>Member <paramref name="member"/> copies (or adds) the message from <paramref name="from"/> into <paramref name="destination"/>.</summary>
    protected void Receive(int member, int from, int slot, MatrixView destination, bool add) =>
        Members[member].ReceivePacked(slot, destination, add, Mode(from, member));

    protected void LocalCopy(int member, MatrixView source, MatrixView destination) => Members[member].LocalCopy(source, destination);

    protected int Next(int member) => (member + 1) % Size;

    protected int Mod(int x) => ((x % Size) + Size) % Size;

    protected static long MaxElements(MatrixView[] views)
    {
        long max = 0;
        foreach (var v in views) max = Math.Max(max, v.Elements);
        return max;
    }
}

/// <summary>
/// Ring all-reduce over contiguous buffers cut into g chunks (BlockPartition): g−1 reduce-scatter steps (member m
/// sends its partial chunk m−s, the receiver adds it to its own), then g−1 all-gather steps (member m forwards the
/// finished chunk m+1−s). 2(g−1)·N floats in total, the same chunks per device as the CPU backend.
/// </summary>
internal sealed class RingAllReduceOp : IlgpuCollectiveOp
{
    private readonly MatrixView[] _buffers;
    private readonly int _elements;

    public RingAllReduceOp(IlgpuDevice[] members, IlgpuDeviceMesh mesh, CollectiveStats stats, MatrixView[] buffers)
        : base(members, mesh, stats, (buffers[0].Elements + members.Length - 1) / members.Length)
    {
        _buffers = buffers;
        _elements = buffers[0].Elements;
    }

    protected override void Execute(int member)
    {
        int g = Size;
        if (g == 1) return;
        int next = Next(member), prev = Mod(member - 1);
        int step = 0;
        for (int s = 0; s < g - 1; s++, step++)
        {
            Send(member, next, Chunk(member, Mod(member - s)), step & 1);
            Barrier.SignalAndWait();
            Receive(member, prev, step & 1, Chunk(member, Mod(member - 1 - s)), add: true);
        }
        for (int s = 0; s < g - 1; s++, step++)
        {
            Send(member, next, Chunk(member, Mod(member + 1 - s)), step & 1);
            Barrier.SignalAndWait();
            Receive(member, prev, step & 1, Chunk(member, Mod(member - s)), add: false);
        }
    }

    /// <summary>Chunk c of member m's buffer as a 1×length view (the buffer is contiguous).</summary>
    private MatrixView Chunk(int member, int c)
    {
        int start = BlockPartition.Start(_elements, Size, c), length = BlockPartition.Length(_elements, Size, c);
        var v = _buffers[member];
        return new MatrixView(v.Buffer, v.Offset + start, 1, length, length);
    }
}

/// <summary>Ring all-gather: at step s member m forwards shard m−s to member m+1; (g−1)·Σ|shard| floats.</summary>
internal sealed class RingAllGatherOp : IlgpuCollectiveOp
{
    private readonly MatrixView[] _shards;
    private readonly MatrixView[][] _targets;

    public RingAllGatherOp(IlgpuDevice[] members, IlgpuDeviceMesh mesh, CollectiveStats stats, MatrixView[] shards, MatrixView[][] targets)
        : base(members, mesh, stats, MaxElements(shards))
    {
        _shards = shards;
        _targets = targets;
    }

    protected override void Execute(int member)
    {
        LocalCopy(member, _shards[member], _targets[member][member]);
        int next = Next(member), prev = Mod(member - 1);
        for (int s = 0; s < Size - 1; s++)
        {
            int shard = Mod(member - s);
            Send(member, next, s == 0 ? _shards[member] : _targets[member][shard], s & 1);
            Barrier.SignalAndWait();
            Receive(member, prev, s & 1, _targets[member][Mod(member - 1 - s)], add: false);
        }
    }
}

/// <summary>
/// Ring reduce-scatter: at step s member m sends its partial sum of block m−1−s to member m+1, which adds it to its
/// own part; after g−1 steps block i is complete on member i. (g−1)·Σ|block| floats.
/// </summary>
internal sealed class RingReduceScatterOp : IlgpuCollectiveOp
{
    private readonly MatrixView[][] _parts;
    private readonly MatrixView[] _results;

    public RingReduceScatterOp(IlgpuDevice[] members, IlgpuDeviceMesh mesh, CollectiveStats stats, MatrixView[][] parts, MatrixView[] results)
        : base(members, mesh, stats, MaxElements(results))
    {
        _parts = parts;
        _results = results;
    }

    protected override void Execute(int member)
    {
        int g = Size;
        if (g == 1)
        {
            LocalCopy(0, _parts[0][0], _results[0]);
            return;
        }
        int next = Next(member), prev = Mod(member - 1);
        for (int s = 0; s < g - 1; s++)
        {
            Send(member, next, _parts[member][Mod(member - 1 - s)], s & 1);
            Barrier.SignalAndWait();
            int recv = Mod(member - 2 - s);
            if (s < g - 2)
            {
                Receive(member, prev, s & 1, _parts[member][recv], add: true);
            }
            else
            {
                // Last step: recv == member, the block this member keeps.
                LocalCopy(member, _parts[member][member], _results[member]);
                Receive(member, prev, s & 1, _results[member], add: true);
            }
        }
    }
}

/// <summary>Broadcast: the root sends its buffer to every other member; (g−1)·N floats.</summary>
internal sealed class BroadcastOp : IlgpuCollectiveOp
{
    private readonly int _root;
    private readonly MatrixView[] _buffers;

    public BroadcastOp(IlgpuDevice[] members, IlgpuDeviceMesh mesh, CollectiveStats stats, int root, MatrixView[] buffers)
        : base(members, mesh, stats, buffers[root].Elements)
    {
        _root = root;
        _buffers = buffers;
    }

    protected override void Execute(int member)
    {
        if (member == _root)
            for (int i = 0; i < Size; i++)
                if (i != _root) Send(member, i, _buffers[_root], 0);
        Barrier.SignalAndWait();
        if (member != _root) Receive(member, _root, 0, _buffers[member], add: false);
    }
}

/// <summary>
/// Binomial-tree reduce to the root: in round d (1, 2, 4, …) the member at relative position r ≡ d (mod 2d) sends
/// its partial sum to r−d. Every non-root member sends once: (g−1)·N floats, ⌈log₂ g⌉ rounds.
/// </summary>
internal sealed class TreeReduceOp : IlgpuCollectiveOp
{
    private readonly int _root;
    private readonly MatrixView[] _buffers;

    public TreeReduceOp(IlgpuDevice[] members, IlgpuDeviceMesh mesh, CollectiveStats stats, int root, MatrixView[] buffers)
        : base(members, mesh, stats, buffers[root].Elements)
    {
        _root = root;
        _buffers = buffers;
    }

    protected override void Execute(int member)
    {
        int g = Size;
        int rel = Mod(member - _root);
        int round = 0;
        for (int d = 1; d < g; d *= 2, round++)
        {
            int slot = round & 1;
            if (rel % (2 * d) == d) Send(member, Mod(rel - d + _root), _buffers[member], slot);
            Barrier.SignalAndWait();
            if (rel % (2 * d) == 0 && rel + d < g) Receive(member, Mod(rel + d + _root), slot, _buffers[member], add: true);
        }
    }
}
