using System;
using System.Collections.Generic;
using System.Runtime.Intrinsics;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Kernels;
using ShardGen.Planning;

namespace ShardGen.Cpu;

/// <summary>
/// Ring all-reduce over contiguous buffers: g−1 reduce-scatter steps then g−1 all-gather steps on the
/// flat elements cut into g chunks (BlockPartition). Each step every member moves one chunk to the next,
/// so each phase moves exactly N floats per step, 2(g−1)·N in total, even chunks or not.
/// In-process the reduce-scatter pulls: at step s member m adds its predecessor's chunk m−1−s straight
/// into its own (no copy into a receive buffer, the predecessor's bytes are counted for it), and the last
/// reduce step also stores the finished chunk into the successor (all-gather step 0, counted for m).
/// For two devices that is one pass: each reads both halves of its chunk and writes it to both devices.
/// </summary>
internal sealed unsafe class RingAllReduceOp : CollectiveOp
{
    protected override void ForgetViews() => Array.Clear(_buffers);

    private readonly MatrixView[] _buffers;
    private int _elements;

    public RingAllReduceOp(int size, CollectiveStats stats) : base(size, stats) => _buffers = new MatrixView[size];

    public override CollectiveKind Kind => CollectiveKind.AllReduce;

    /// <summary>One contiguous buffer per member; filled by the engine, then <see cref="Setup"/>.</summary>
    public MatrixView[] Buffers => _buffers;

    public void Setup() => _elements = _buffers[0].Elements;

    protected override void Execute(int member)
    {
        int g = Size;
        if (g == 1) return;
        int prev = Mod(member - 1);
        float* data = CpuDevice.Pointer(_buffers[member]);
        float* from = CpuDevice.Pointer(_buffers[prev]);
        float* next = CpuDevice.Pointer(_buffers[Next(member)]);

        for (int s = 0; s < g - 1; s++)
        {
            // Chunk member−1−s: the predecessor finished its part of it in step s−1 (or holds its own input at s = 0).
            int c = Mod(member - 1 - s);
            int start = Start(c), length = Length(c);
            if (s < g - 2)
            {
                Elementwise.AddRow(from + start, data + start, length);
            }
            else
            {
                AddAndCopy(from + start, data + start, next + start, length);
                Count(member, length);
            }
            Count(prev, length);
            Barrier.SignalAndWait();
        }
        // Member i now holds the full sum of chunk i+1 (already stored in i+1); pass the rest around the ring.
        for (int s = 1; s < g - 1; s++)
        {
            int send = Mod(member + 1 - s);
            Send(member, data + Start(send), next + Start(send), Length(send));
            Barrier.SignalAndWait();
        }
    }

    /// <summary>
    /// data += source, and the sum also stored into copy: the last reduce step and all-gather step 0 in one pass
    /// over the chunk (the plain steps use <see cref="Elementwise.AddRow"/>).
    /// </summary>
    private static void AddAndCopy(float* source, float* data, float* copy, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= n; i += 32)
            {
                var v0 = Vector512.Load(data + i) + Vector512.Load(source + i);
                var v1 = Vector512.Load(data + i + 16) + Vector512.Load(source + i + 16);
                Vector512.Store(v0, data + i);
                Vector512.Store(v1, data + i + 16);
                Vector512.Store(v0, copy + i);
                Vector512.Store(v1, copy + i + 16);
            }
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.Load(data + i) + Vector512.Load(source + i);
                Vector512.Store(v, data + i);
                Vector512.Store(v, copy + i);
            }
        }
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.Load(data + i) + Vector256.Load(source + i);
            Vector256.Store(v, data + i);
            Vector256.Store(v, copy + i);
        }
        for (; i < n; i++) copy[i] = data[i] += source[i];
    }

    private int Start(int chunk) => BlockPartition.Start(_elements, Size, chunk);

    private int Length(int chunk) => BlockPartition.Length(_elements, Size, chunk);
}

/// <summary>Ring all-gather: at step s member j forwards shard j−s to member j+1; (g−1)·Σ|shard| floats.</summary>
internal sealed class RingAllGatherOp : CollectiveOp
{
    protected override void ForgetViews() => ClearAll(_shards, _targets);

    private readonly MatrixView[] _shards;
    private readonly MatrixView[][] _targets;

    public RingAllGatherOp(int size, CollectiveStats stats) : base(size, stats)
    {
        _shards = new MatrixView[size];
        _targets = NewMatrix(size);
    }

    public override CollectiveKind Kind => CollectiveKind.AllGather;

    public MatrixView[] Shards => _shards;

    /// <summary>Targets[j][i]: where member j receives shard i.</summary>
    public MatrixView[][] Targets => _targets;

    protected override void Execute(int member)
    {
        LocalCopy(_shards[member], _targets[member][member]);
        for (int s = 0; s < Size - 1; s++)
        {
            int shard = Mod(member - s);
            var source = s == 0 ? _shards[member] : _targets[member][shard];
            Send(member, source, _targets[Next(member)][shard]);
            Barrier.SignalAndWait();
        }
    }
}

/// <summary>
/// Ring reduce-scatter: block i's partial sum starts on member i+1 and travels the ring, each member adding its
/// part, until it completes on member i after g−1 steps. (g−1)·Σ|block| floats.
/// In-process the steps pull, as in <see cref="RingAllReduceOp"/>: at step s member m adds its predecessor's
/// partial sum of block m−2−s straight into its own part (no copy into a receive buffer; the predecessor's bytes
/// are counted for it). The last step completes the member's own part, copied into its result once all have met.
/// </summary>
internal sealed class RingReduceScatterOp : CollectiveOp
{
    protected override void ForgetViews() => ClearAll(_results, _parts);

    private readonly MatrixView[][] _parts;
    private readonly MatrixView[] _results;

    public RingReduceScatterOp(int size, CollectiveStats stats) : base(size, stats)
    {
        _parts = NewMatrix(size);
        _results = new MatrixView[size];
    }

    public override CollectiveKind Kind => CollectiveKind.ReduceScatter;

    /// <summary>Parts[j][i]: member j's contribution to block i.</summary>
    public MatrixView[][] Parts => _parts;

    public MatrixView[] Results => _results;

    protected override void Execute(int member)
    {
        int prev = Mod(member - 1);
        for (int s = 0; s < Size - 1; s++)
        {
            // The predecessor finished its partial sum of this block in step s−1 (or holds its own part at s = 0);
            // meanwhile the successor reads this member's block m−1−s, never the one written here.
            int block = Mod(member - 2 - s);
            var incoming = _parts[prev][block];
            Add(incoming, _parts[member][block]);
            Count(prev, incoming.Elements);
            Barrier.SignalAndWait();
        }
        // After the last meeting nobody reads this member's parts, so the result may overlap any of them.
        LocalCopy(_parts[member][member], _results[member]);
    }
}

/// <summary>Broadcast: the root copies its buffer straight into every other member; (g−1)·N floats.</summary>
internal sealed class BroadcastOp : CollectiveOp
{
    protected override void ForgetViews() => Array.Clear(_buffers);

    private readonly MatrixView[] _buffers;
    private int _root;

    public BroadcastOp(int size, CollectiveStats stats) : base(size, stats) => _buffers = new MatrixView[size];

    public override CollectiveKind Kind => CollectiveKind.Broadcast;

    public MatrixView[] Buffers => _buffers;

    public void Setup(int root) => _root = root;

    protected override void Execute(int member)
    {
        if (member == _root)
        {
            for (int i = 0; i < Size; i++)
                if (i != _root) Send(member, _buffers[_root], _buffers[i]);
        }
        // Nobody leaves before the data has arrived everywhere.
        Barrier.SignalAndWait();
    }
}

/// <summary>
/// Binomial-tree reduce to the root: in round d (1, 2, 4, …) the member at relative position r ≡ d (mod 2d)
/// sends its partial sum to r−d. Every non-root member sends once: (g−1)·N floats, ⌈log₂ g⌉ rounds.
/// </summary>
internal sealed unsafe class TreeReduceOp : CollectiveOp
{
    protected override void ForgetViews() => Array.Clear(_buffers);

    private readonly MatrixView[] _buffers;
    private readonly IntPtr[] _receive;
    private int _root;
    private int _elements;

    public TreeReduceOp(int size, CollectiveStats stats) : base(size, stats)
    {
        _buffers = new MatrixView[size];
        _receive = new IntPtr[size];
    }

    public override CollectiveKind Kind => CollectiveKind.Reduce;

    public MatrixView[] Buffers => _buffers;

    public void Setup(int root)
    {
        _root = root;
        _elements = _buffers[0].Elements;
    }

    protected override void Prepare(int member)
    {
        _receive[member] = (IntPtr)Members[member].Scratch.Ensure(2 * (nint)_elements);
    }

    protected override void Execute(int member)
    {
        int g = Size;
        int rel = Mod(member - _root);
        int round = 0;
        for (int d = 1; d < g; d *= 2, round++)
        {
            int slot = (round & 1) * _elements;
            if (rel % (2 * d) == d)
            {
                int to = Mod(rel - d + _root);
                Send(member, _buffers[member], (float*)_receive[to] + slot);
            }
            Barrier.SignalAndWait();
            if (rel % (2 * d) == 0 && rel + d < g)
                AddPacked((float*)_receive[member] + slot, _buffers[member]);
        }
    }
}
