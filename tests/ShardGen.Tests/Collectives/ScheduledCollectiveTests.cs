using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Tests.Collectives;

/// <summary>
/// The executor every in-process backend shares, over a recording transport: each transfer of the schedule is sent
/// once and received once, every receive of a step comes after every send of that step (the members met between
/// them), bytes are counted per sender from the schedule, and a failing member aborts the others instead of hanging.
/// </summary>
public sealed class ScheduledCollectiveTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(5);

    public void Dispose() => _mesh.Dispose();

    public static TheoryData<int, bool> Cases()
    {
        var data = new TheoryData<int, bool>();
        for (int p = 1; p <= 5; p++)
        {
            data.Add(p, true);
            data.Add(p, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryTransferIsSentOnceThenReceivedAfterTheStepsMeeting(int p, bool sendWritesPeer)
    {
        foreach (var kind in Enum.GetValues<CollectiveKind>())
        {
            var stats = new CollectiveStats(_mesh.Size);
            var op = Fill(new RecordingCollective(kind, p, stats, sendWritesPeer), 6);
            int root = p - 1;
            op.Start(new CollectivePool<CpuDevice>((k, s) => new RecordingCollective(k, s, stats, sendWritesPeer)), root);
            Assert.All(RunAll(op, p), Assert.Null);

            var schedule = CollectiveSchedule.For(kind, p, root);
            var sends = op.Log.Where(e => e.Send).ToList();
            var receives = op.Log.Where(e => !e.Send).ToList();
            Assert.Equal(schedule.Transfers.OrderBy(t => t.ToString()), sends.Select(e => e.Transfer).OrderBy(t => t.ToString()));
            Assert.Equal(schedule.Transfers.OrderBy(t => t.ToString()), receives.Select(e => e.Transfer).OrderBy(t => t.ToString()));
            for (int step = 0; step < schedule.Steps; step++)
            {
                long lastSend = sends.Where(e => e.Transfer.Step == step).Max(e => e.Sequence);
                long firstReceive = receives.Where(e => e.Transfer.Step == step).Min(e => e.Sequence);
                Assert.True(lastSend < firstReceive, $"{kind} P={p} step {step}: a receive ran before the members met.");
            }
            // A transport that reads the sender's memory: no sender may leave (and let its device reuse the memory)
            // before every receive from it is done.
            foreach (var r in receives.Where(_ => !sendWritesPeer))
                Assert.True(op.Exits[r.Transfer.From] > r.Sequence, $"{kind} P={p}: member {r.Transfer.From} left while member {r.Transfer.To} still read its chunk {r.Transfer.Chunk}.");
            // Bytes: each member counted what the schedule says it sends, 6 floats a chunk unless all-reduce cuts them.
            var chunks = Enumerable.Range(0, schedule.Chunks).Select(c => kind == CollectiveKind.AllReduce ? EvenRanges.Length(6, p, c) : 6).ToArray();
            for (int m = 0; m < p; m++)
                Assert.Equal(schedule.ElementsSent(chunks, m) * sizeof(float), stats.BytesSent(op.Members[m].Rank));
            Assert.Equal(schedule.ElementsSent(chunks), op.ElementsSent);
        }
    }

    [Fact]
    public void AFailingMemberAbortsTheOthersAndTheOpIsNotReused()
    {
        var stats = new CollectiveStats(_mesh.Size);
        var pool = new CollectivePool<CpuDevice>((k, s) => new RecordingCollective(k, s, stats, sendWritesPeer: true));
        var op = Fill(new RecordingCollective(CollectiveKind.AllReduce, 4, stats, sendWritesPeer: true) { FailingMember = 2 }, 8);
        op.Start(pool, 0);
        var failures = RunAll(op, 4);
        Assert.Equal("member 2 failed", Assert.IsType<InvalidOperationException>(failures[2]).Message);
        foreach (int m in new[] { 0, 1, 3 })
            Assert.Contains("another member failed: member 2 failed", Assert.IsType<InvalidOperationException>(failures[m]).Message);
        Assert.NotSame(op, pool.Rent(CollectiveKind.AllReduce, 4));
    }

    [Fact]
    public void AFinishedOpGoesBackToThePoolWithoutItsViews()
    {
        var stats = new CollectiveStats(_mesh.Size);
        var pool = new CollectivePool<CpuDevice>((k, s) => new RecordingCollective(k, s, stats, sendWritesPeer: false));
        var op = Fill(new RecordingCollective(CollectiveKind.ReduceScatter, 3, stats, sendWritesPeer: false), 4);
        op.Start(pool, 0);
        Assert.All(RunAll(op, 3), Assert.Null);
        Assert.Same(op, pool.Rent(CollectiveKind.ReduceScatter, 3));
        Assert.All(op.MemberViews, v => Assert.Null(v.Buffer));
        Assert.All(op.ChunkViews.SelectMany(row => row), v => Assert.Null(v.Buffer));
    }

    /// <summary>Members 0..p−1 of the mesh, each view a fresh buffer of <paramref name="floats"/> floats.</summary>
    private RecordingCollective Fill(RecordingCollective op, int floats)
    {
        for (int m = 0; m < op.Members.Length; m++)
        {
            op.Members[m] = _mesh.CpuDevices[m];
            op.MemberViews[m] = _mesh.Devices[m].Allocate(floats).AsMatrix(1, floats);
            for (int c = 0; c < op.Members.Length; c++) op.ChunkViews[m][c] = _mesh.Devices[m].Allocate(floats).AsMatrix(1, floats);
        }
        return op;
    }

    /// <summary>Runs every member's part on a thread of its own, as the devices' workers would; what each threw.</summary>
    private static Exception?[] RunAll(ScheduledCollective<CpuDevice> op, int p)
    {
        var failures = new Exception?[p];
        var threads = Enumerable.Range(0, p).Select(m => new Thread(() =>
        {
            try
            {
                op.Run(m);
                (op as RecordingCollective)?.Exit(m);
            }
            catch (Exception e)
            {
                failures[m] = e;
            }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromSeconds(20)), "A member did not finish (hung at a barrier?).");
        return failures;
    }

    private sealed record Entry(long Sequence, bool Send, Transfer Transfer);

    /// <summary>A transport that moves nothing and logs every half of every transfer in global order.</summary>
    private sealed class RecordingCollective(CollectiveKind kind, int size, CollectiveStats stats, bool sendWritesPeer)
        : ScheduledCollective<CpuDevice>(kind, size, stats)
    {
        private long _sequence;

        public ConcurrentBag<Entry> Log { get; } = new();

        public int FailingMember { get; init; } = -1;

        /// <summary>When each member's part returned, in the log's order.</summary>
        public long[] Exits { get; } = new long[size];

        public void Exit(int member) => Exits[member] = Interlocked.Increment(ref _sequence);

        protected override bool SendWritesPeer(TransferOp op) => sendWritesPeer;

        protected override bool ReceiveReadsPeer(TransferOp op) => !sendWritesPeer;

        protected override void Send(in Transfer t, int slot)
        {
            if (t.From == FailingMember) throw new InvalidOperationException($"member {t.From} failed");
            Log.Add(new Entry(Interlocked.Increment(ref _sequence), true, t));
        }

        protected override void Receive(in Transfer t, int slot)
        {
            if (!sendWritesPeer) Thread.Sleep(1); // a slow read of the sender's memory: the sender must still be there
            Log.Add(new Entry(Interlocked.Increment(ref _sequence), false, t));
        }

        protected override void LocalCopy(int member, MatrixView source, MatrixView destination)
        {
        }
    }
}
