using System;
using System.Collections.Concurrent;
using System.Collections.Generic;

namespace ShardGen.Collectives;

/// <summary>
/// The messages of one collective over a group of <see cref="Size"/> members, step by step: which member sends
/// which chunk to which, and whether the receiver copies or adds it. Every backend runs (CPU, ILGPU) or counts
/// (MPI) the same schedule, so the algorithms and their byte counts are written once. All transfers of a step
/// have the same <see cref="TransferOp"/>. Schedules are immutable and shared: <see cref="For"/> caches them.
/// </summary>
internal sealed class CollectiveSchedule
{
    private static readonly ConcurrentDictionary<(CollectiveKind Kind, int Size, int Root), CollectiveSchedule> Cache = new();

    private readonly Transfer[][][] _sends;    // [step][member]: what the member sends in that step
    private readonly Transfer[][][] _receives; // [step][member]: what it receives
    private readonly int[][] _timesSent;       // [member][chunk]: how often the member sends that chunk
    private readonly TransferOp[] _ops;        // [step]

    public CollectiveSchedule(int size, int chunks, IReadOnlyList<Transfer> transfers)
    {
        Size = size;
        Chunks = chunks;
        Transfers = transfers;
        int steps = 0;
        foreach (var t in transfers) steps = Math.Max(steps, t.Step + 1);
        _sends = Index(size, steps, transfers, t => t.From);
        _receives = Index(size, steps, transfers, t => t.To);
        _timesSent = new int[size][];
        for (int m = 0; m < size; m++) _timesSent[m] = new int[chunks];
        foreach (var t in transfers) _timesSent[t.From][t.Chunk]++;
        _ops = new TransferOp[steps];
        foreach (var t in transfers) _ops[t.Step] = t.Op;
    }

    /// <summary>The schedule for a call (cached; a ring ignores the root).</summary>
    public static CollectiveSchedule For(CollectiveKind kind, int size, int root = 0) =>
        Cache.GetOrAdd((kind, size, kind is CollectiveKind.Broadcast or CollectiveKind.Reduce ? root : 0), static key => key.Kind switch
        {
            CollectiveKind.AllReduce => RingSchedule.AllReduce(key.Size),
            CollectiveKind.AllGather => RingSchedule.AllGather(key.Size),
            CollectiveKind.ReduceScatter => RingSchedule.ReduceScatter(key.Size),
            CollectiveKind.Broadcast => TreeSchedule.Broadcast(key.Size, key.Root),
            _ => TreeSchedule.Reduce(key.Size, key.Root),
        });

    public int Size { get; }

    /// <summary>How many chunks the data is cut into (transfers name chunks 0..Chunks−1).</summary>
    public int Chunks { get; }

    public int Steps => _sends.Length;

    public IReadOnlyList<Transfer> Transfers { get; }

    public ReadOnlySpan<Transfer> SendsOf(int step, int member) => _sends[step][member];

    public ReadOnlySpan<Transfer> ReceivesOf(int step, int member) => _receives[step][member];

    /// <summary>The op of every transfer in <paramref name="step"/>.</summary>
    public TransferOp Op(int step) => _ops[step];

    /// <summary>
    /// Floats sent when chunk c holds <paramref name="chunkElements"/>[c] floats: by every member together, or by
    /// <paramref name="member"/> alone. The byte record of every backend comes from here.
    /// </summary>
    public long ElementsSent(ReadOnlySpan<int> chunkElements, int member = -1)
    {
        long total = 0;
        for (int m = member < 0 ? 0 : member; m < (member < 0 ? Size : member + 1); m++)
            for (int c = 0; c < Chunks; c++) total += (long)_timesSent[m][c] * chunkElements[c];
        return total;
    }

    private static Transfer[][][] Index(int size, int steps, IReadOnlyList<Transfer> transfers, Func<Transfer, int> member)
    {
        var lists = new List<Transfer>[steps, size];
        foreach (var t in transfers) (lists[t.Step, member(t)] ??= new List<Transfer>()).Add(t);
        var index = new Transfer[steps][][];
        for (int s = 0; s < steps; s++)
        {
            index[s] = new Transfer[size][];
            for (int m = 0; m < size; m++) index[s][m] = lists[s, m]?.ToArray() ?? [];
        }
        return index;
    }
}
