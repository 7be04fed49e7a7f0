using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Planning;

namespace ShardGen.Tests.Collectives;

/// <summary>
/// The schedules every backend runs, checked on their own: a sequential simulator applies each step's transfers
/// (every message carries the sender's chunk as it was before the step, as the backends guarantee by meeting between
/// sending and receiving) to random data, and the outcome is compared with a reference computed in double.
/// </summary>
public sealed class CollectiveScheduleTests
{
    public static TheoryData<int> GroupSizes => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void AllGatherDeliversEveryChunkToEveryMemberExactlyOnce(int p)
    {
        var schedule = RingSchedule.AllGather(p);
        var has = new bool[p, p];
        var received = new int[p, p];
        for (int m = 0; m < p; m++) has[m, m] = true;
        for (int step = 0; step < schedule.Steps; step++)
        {
            var transfers = schedule.Transfers.Where(t => t.Step == step).ToArray();
            // A member forwards only what it had before this step.
            foreach (var t in transfers) Assert.True(has[t.From, t.Chunk], $"P={p} step {step}: member {t.From} sends chunk {t.Chunk} it does not have yet.");
            foreach (var t in transfers)
            {
                Assert.Equal(TransferOp.Copy, t.Op);
                received[t.To, t.Chunk]++;
                has[t.To, t.Chunk] = true;
            }
        }
        for (int m = 0; m < p; m++)
            for (int c = 0; c < p; c++)
                Assert.True(received[m, c] == (m == c ? 0 : 1), $"P={p}: member {m} received chunk {c} {received[m, c]} times.");
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void AllReduceLeavesTheSumOnEveryMember(int p)
    {
        var random = new Random(100 + p);
        foreach (int n in new[] { 1, p, 3 * p + 2, random.Next(20, 200) })
        {
            var schedule = RingSchedule.AllReduce(p);
            var input = RandomBuffers(random, p, n);
            var chunks = Enumerable.Range(0, p).Select(c => (Start: EvenRanges.Start(n, p, c), Length: EvenRanges.Length(n, p, c))).ToArray();
            var state = input.Select(b => chunks.Select(c => b.AsSpan(c.Start, c.Length).ToArray()).ToArray()).ToArray();
            Simulate(schedule, state);
            for (int i = 0; i < n; i++)
            {
                double expected = input.Sum(b => b[i]);
                int c = Enumerable.Range(0, p).Single(k => i >= chunks[k].Start && i < chunks[k].Start + chunks[k].Length);
                for (int m = 0; m < p; m++)
                    Assert.True(Math.Abs(state[m][c][i - chunks[c].Start] - expected) <= 1e-12 * p,
                        $"P={p} N={n}: member {m} element {i} is {state[m][c][i - chunks[c].Start]}, expected {expected}.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void ReduceScatterLeavesChunkSumsOnTheirOwners(int p)
    {
        var random = new Random(200 + p);
        // parts[m][c]: member m's contribution to chunk c; chunks of different lengths.
        var lengths = Enumerable.Range(0, p).Select(_ => random.Next(0, 9)).ToArray();
        var parts = Enumerable.Range(0, p).Select(_ => lengths.Select(l => RandomValues(random, l)).ToArray()).ToArray();
        var state = parts.Select(row => row.Select(v => (double[])v.Clone()).ToArray()).ToArray();
        Simulate(RingSchedule.ReduceScatter(p), state);
        for (int c = 0; c < p; c++)
            for (int i = 0; i < lengths[c]; i++)
                Assert.Equal(parts.Sum(row => row[c][i]), state[c][c][i], 12);
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void TreeReduceAndBroadcastReachEveryRoot(int p)
    {
        var random = new Random(300 + p);
        for (int root = 0; root < p; root++)
        {
            var input = RandomBuffers(random, p, 5);
            var state = input.Select(b => new[] { (double[])b.Clone() }).ToArray();
            var reduce = TreeSchedule.Reduce(p, root);
            Simulate(reduce, state);
            for (int i = 0; i < 5; i++) Assert.Equal(input.Sum(b => b[i]), state[root][0][i], 12);
            Assert.True(reduce.Steps == (p == 1 ? 0 : (int)Math.Ceiling(Math.Log2(p))), $"P={p}: {reduce.Steps} rounds.");

            state = input.Select(b => new[] { (double[])b.Clone() }).ToArray();
            Simulate(TreeSchedule.Broadcast(p, root), state);
            for (int m = 0; m < p; m++) Assert.Equal(input[root], state[m][0]);
        }
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void RingAllReduceSendsTwoTimesPMinusOneOverPOfTheBuffer(int p)
    {
        var schedule = RingSchedule.AllReduce(p);
        foreach (int n in new[] { 0, 1, 7, 8 * 105, 1000 })
        {
            var chunks = Enumerable.Range(0, p).Select(c => EvenRanges.Length(n, p, c)).ToArray();
            Assert.Equal(2L * (p - 1) * n, schedule.ElementsSent(chunks));
            // Per member: every chunk but m+1 in the reduce phase, every chunk but m+2 in the gather phase.
            for (int m = 0; m < p && p > 1; m++)
                Assert.Equal(2L * n - chunks[(m + 1) % p] - chunks[(m + 2) % p], schedule.ElementsSent(chunks, m));
            if (n % p == 0)
                for (int m = 0; m < p; m++) Assert.Equal(2.0 * (p - 1) / p * n, schedule.ElementsSent(chunks, m), 9);
        }
        // The counts are those of the transfers themselves.
        var sizes = Enumerable.Range(0, p).Select(c => c + 1).ToArray();
        Assert.Equal(schedule.Transfers.Sum(t => (long)sizes[t.Chunk]), schedule.ElementsSent(sizes));
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void NoStepWritesAChunkItAlsoReads(int p)
    {
        // The CPU transport adds straight from the sender's memory while the sender receives into its own: the chunk
        // a member sends in a step must not be one it receives in that step.
        foreach (var kind in Enum.GetValues<CollectiveKind>())
        {
            var schedule = CollectiveSchedule.For(kind, p, root: p - 1);
            foreach (var step in schedule.Transfers.GroupBy(t => t.Step))
            {
                var written = step.Select(t => (t.To, t.Chunk)).ToHashSet();
                foreach (var t in step)
                    Assert.False(written.Contains((t.From, t.Chunk)), $"{kind} P={p} step {step.Key}: member {t.From}'s chunk {t.Chunk} is read and written.");
                Assert.Single(step.Select(t => t.Op).Distinct());
            }
        }
    }

    [Fact]
    public void SchedulesAreSharedPerKindSizeAndRoot()
    {
        Assert.Same(CollectiveSchedule.For(CollectiveKind.AllReduce, 4), CollectiveSchedule.For(CollectiveKind.AllReduce, 4, root: 3));
        Assert.NotSame(CollectiveSchedule.For(CollectiveKind.Reduce, 4, 1), CollectiveSchedule.For(CollectiveKind.Reduce, 4, 2));
        Assert.Equal(2, CollectiveSchedule.For(CollectiveKind.Reduce, 4, 2).Transfers.Count(t => t.To == 2));
    }

    /// <summary>state[member][chunk]: applies every step, each message carrying the sender's chunk from before the step.</summary>
    private static void Simulate(CollectiveSchedule schedule, double[][][] state)
    {
        for (int step = 0; step < schedule.Steps; step++)
        {
            var messages = schedule.Transfers.Where(t => t.Step == step).Select(t => (t, Data: (double[])state[t.From][t.Chunk].Clone())).ToList();
            foreach (var (t, data) in messages)
            {
                var target = state[t.To][t.Chunk];
                for (int i = 0; i < target.Length; i++) target[i] = t.Op == TransferOp.Add ? target[i] + data[i] : data[i];
            }
        }
    }

    private static double[][] RandomBuffers(Random random, int p, int n) => Enumerable.Range(0, p).Select(_ => RandomValues(random, n)).ToArray();

    private static double[] RandomValues(Random random, int n) => Enumerable.Range(0, n).Select(_ => random.NextDouble() * 2 - 1).ToArray();
}
