using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

namespace ShardGen.Mpi;

/// <summary>What a guarded step does: carried in its header as a number, named in the out-of-step message.</summary>
internal enum MpiStep
{
    AllReduce = 1,
    AllGather,
    ReduceScatter,
    Broadcast,
    Reduce,
    InputCheck,
    ResultDownload,
    TrafficReport,
    WeightCheck,
    CommunicatorSplit,
    GradientNorm,
    RegionExchange,
    SaveOutcome,
    SaveGather,
}

/// <summary>
/// Keeps MPI ranks in step, so a rank that falls out of the SPMD order ends the job with a message instead of a hang.
/// Every collective ShardGen runs is a numbered step (the same count on every rank, member or not); before its MPI call,
/// the members exchange a 96-byte header (forward number, step number, kind, size, group) with MPI_Iallgather, and any
/// difference aborts the job naming the ranks and their steps. While it waits, a rank sleeps between MPI_Test calls
/// (no busy spin past the first 2 ms), reads a side channel (a duplicate of MPI_COMM_WORLD) where a rank that returns
/// from Main says it is leaving and where waiting ranks ask each other where they are, and gives up after
/// <see cref="MpiRuntime.Timeout"/>, naming every rank's position or that it does not answer.
/// The data collective itself stays MPI's blocking (tuned) call: once the headers match, every member has entered
/// the step, and nothing between the header and the call can fail.
/// </summary>
internal sealed unsafe class MpiStepGuard : IDisposable
{
    // Headers and side-channel messages share one layout of Length longs; the label is a group name, ASCII. The
    // payload rides along uncompared: a mesh-level step's own data (input checksums, traffic bytes) needs no other call.
    private const int TypeAt = 0, RankAt = 1, ForwardAt = 2, IndexAt = 3, SequenceAt = 4, FlagsAt = 5, KindAt = 6, ElementsAt = 7, LabelAt = 8;
    private const int LabelBytes = 32, PayloadAt = LabelAt + LabelBytes / sizeof(long), Length = PayloadAt + PayloadLength;

    /// <summary>Longs of payload a step's header can carry (see <see cref="Payload"/>).</summary>
    public const int PayloadLength = 4;
    private const long HeaderMessage = 0, QueryMessage = 1, StatusMessage = 2, LeavingMessage = 3;
    private const long InForwardFlag = 1, FinalizingFlag = 2;
    private const int ControlTag = 0x5347; // "SG": the side channel's only tag
    private static readonly long PollTicks = Stopwatch.Frequency / 10_000; // 100 µs of MPI_Test alone, as a blocking call would
    private static readonly long SpinTicks = Stopwatch.Frequency / 500;   // then up to 2 ms of MPI_Test + yield, then sleeps
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(1);

    private readonly MpiLibrary _mpi;
    private readonly MpiCommunicator _control;
    private readonly int _rank, _size;
    private readonly long* _mine, _gathered, _incoming, _outgoing;
    private readonly long[]?[] _left;     // per rank: its leaving notice, once received
    private readonly long[]?[] _answers;  // per rank: its answer to this rank's query
    private readonly List<nint> _sends = new();
    private nint _receive;
    private long _forward, _index, _sequence;
    private bool _inForward, _closed;

    /// <summary>Duplicates <paramref name="world"/> for the side channel: collective, every rank must call it.</summary>
    public MpiStepGuard(MpiCommunicator world)
    {
        _mpi = world.Library;
        _rank = world.Rank;
        _size = world.Size;
        _control = world.Duplicate();
        _mine = Allocate(Length);
        _gathered = Allocate(Length * _size);
        _incoming = Allocate(Length);
        _outgoing = Allocate(Length);
        _left = new long[]?[_size];
        _answers = new long[]?[_size];
        PostReceive();
    }

    /// <summary>Test seam: runs before each step's header, with the step (the host throws from it to fake a failing rank).</summary>
    internal Action<MpiStep>? BeforeStep { get; set; }

    /// <summary>Measurement seam: false skips the header exchange (steps are still counted), to time what it costs.</summary>
    internal bool Checking { get; set; } = true;

    /// <summary>A forward pass starts (its input check is its first step).</summary>
    public void BeginForward()
    {
        _forward++;
        _index = 0;
        _inForward = true;
    }

    /// <summary>A forward pass completed its last step.</summary>
    public void EndForward() => _inForward = false;

    /// <summary>A step this rank takes no part in (not a member of the group): counted, so numbers stay equal on every rank.</summary>
    public void Skip(MpiStep step)
    {
        BeforeStep?.Invoke(step);
        _index++;
        _sequence++;
    }

    /// <summary>
    /// Before a collective on <paramref name="comm"/> (world ranks <paramref name="members"/>, null: every rank):
    /// exchanges headers with the members and aborts the job if any is at another step.
    /// </summary>
    public void Enter(MpiCommunicator comm, int[]? members, MpiStep step, long elements, byte[] label, ReadOnlySpan<long> payload = default)
    {
        BeforeStep?.Invoke(step);
        Fill(_mine, HeaderMessage, step, elements, label);
        payload.CopyTo(new Span<long>(_mine + PayloadAt, PayloadLength));
        _index++;
        _sequence++;
        if (!Checking)
        {
            if (payload.IsEmpty) return;
            // Measurement only: the payload still has to travel, as a plain all-gather.
            _mpi.Check(_mpi.Allgather(_mine, Length, _mpi.Int64, _gathered, Length, _mpi.Int64, comm.Handle), "MPI_Allgather");
            return;
        }
        nint request = 0;
        _mpi.Check(_mpi.Iallgather(_mine, Length, _mpi.Int64, _gathered, Length, _mpi.Int64, comm.Handle, &request), "MPI_Iallgather");
        Await(&request, members, finalizing: false);
        for (int m = 0; m < comm.Size; m++)
            if (!SameStep(_gathered + m * Length, _mine))
                OutOfStep(Enumerable.Range(0, comm.Size).Select(i => Record(_gathered + i * Length)).ToList(), waitedSeconds: null);
    }

    /// <summary>Member <paramref name="member"/>'s payload in the last step this rank entered.</summary>
    public ReadOnlySpan<long> Payload(int member) => new(_gathered + member * Length + PayloadAt, PayloadLength);

    /// <summary>
    /// At MPI finalize: tells every rank this one has left (a rank still waiting for it aborts at once), then waits
    /// for the others to leave too (MPI_Finalize would wait anyway), answering their queries meanwhile.
    /// </summary>
    public void Leave()
    {
        if (_closed) return;
        CompleteSends();
        Fill(_mine, LeavingMessage, 0, 0, Array.Empty<byte>());
        _mine[FlagsAt] |= FinalizingFlag;
        SendToOthers(_mine);
        nint barrier = 0;
        _mpi.Check(_mpi.Ibarrier(_control.Handle, &barrier), "MPI_Ibarrier");
        Await(&barrier, null, finalizing: true);
        Dispose();
    }

    /// <summary>Waits for <paramref name="request"/>: MPI_Test, the side channel, the leaving notices, the clock.</summary>
    private void Await(nint* request, int[]? members, bool finalizing)
    {
        long start = Stopwatch.GetTimestamp();
        var timeout = MpiRuntime.Timeout;
        long limit = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            int done = 0;
            _mpi.Check(_mpi.Test(request, &done, null), "MPI_Test");
            if (done != 0) return;
            ServiceSideChannel();
            long waited = Stopwatch.GetTimestamp() - start;
            if (!finalizing)
            {
                CheckLeft(members);
                if (waited > limit) Diagnose(members, waited / (double)Stopwatch.Frequency);
            }
            // As a blocking MPI call would for the first 100 µs (the common case: every member is there), then as one
            // with mpi_yield_when_idle up to 2 ms, then 1 ms sleeps: a rank that waits long for a slower one costs no core.
            if (waited < PollTicks) continue;
            if (waited < SpinTicks) Thread.Yield();
            else Thread.Sleep(1);
        }
    }

    /// <summary>A member that has left (returned from Main) before entering the current step will never enter it.</summary>
    private void CheckLeft(int[]? members)
    {
        long current = _mine[SequenceAt];
        for (int r = 0; r < _size; r++)
        {
            if (_left[r] is not { } notice || notice[SequenceAt] > current) continue; // it passed this step before leaving
            if (members != null && Array.IndexOf(members, r) < 0) continue;
            Diagnose(members, waitedSeconds: null); // aborts
            return;
        }
    }

    /// <summary>
    /// Asks every rank where it is, waits a moment for the answers (ranks waiting in a step or finalizing answer at
    /// once), and aborts naming each position.
    /// </summary>
    private void Diagnose(int[]? members, double? waitedSeconds)
    {
        Array.Clear(_answers);
        CompleteSends();
        Fill(_outgoing, QueryMessage, 0, 0, Array.Empty<byte>());
        SendToOthers(_outgoing);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < AnswerGrace && Enumerable.Range(0, _size).Any(r => r != _rank && _answers[r] is null && _left[r] is null))
        {
            ServiceSideChannel();
            Thread.Sleep(1);
        }
        var records = new List<long[]> { Record(_mine) };
        var silent = new List<int>();
        for (int r = 0; r < _size; r++)
        {
            if (r == _rank) continue;
            if ((_left[r] ?? _answers[r]) is { } known) records.Add(known);
            else if (members is null || Array.IndexOf(members, r) >= 0) silent.Add(r);
        }
        OutOfStep(records, waitedSeconds, silent);
    }

    /// <summary>Aborts the job: which ranks are where, grouped by position.</summary>
    private void OutOfStep(List<long[]> records, double? waitedSeconds, List<int>? silent = null)
    {
        var text = new StringBuilder("aborts the MPI job: the ranks are out of step: ");
        if (waitedSeconds is { } waited)
            text.Append($"rank {_rank} waited {waited:F0} s (the timeout, {MpiRuntime.TimeoutVariable}) at {Position(_mine)}; ");
        var groups = records.GroupBy(Describe).Select(g => (Ranks: g.Select(r => (int)r[RankAt]).Distinct().OrderBy(r => r).ToList(), Where: g.Key))
            .OrderBy(g => g.Ranks.Count).ThenBy(g => g.Ranks[0]).ToList();
        text.Append(string.Join("; ", groups.Select(g => $"{Ranks(g.Ranks)} {(g.Ranks.Count == 1 ? "is" : "are")} {g.Where}")));
        if (silent is { Count: > 0 })
            text.Append($"; {Ranks(silent)} {(silent.Count == 1 ? "does" : "do")} not answer (busy outside ShardGen's collectives, stuck, or gone without finalizing MPI)");
        text.Append(". Every rank must run the same forward passes and collectives in the same order (SPMD): a rank that caught an exception " +
            "from Forward and went on, returned from Main early, or ran an extra Forward leaves the others waiting.");
        MpiRuntime.AbortJob(text.ToString());
    }

    private static string Ranks(List<int> ranks) => (ranks.Count == 1 ? "rank " : "ranks ") + string.Join(",", ranks);

    private static string Describe(long[] r) =>
        (r[FlagsAt] & FinalizingFlag) != 0
            ? $"done: returned from Main and finalizing MPI after {(r[ForwardAt] == 1 ? "1 forward" : $"{r[ForwardAt]} forwards")}"
            : "at " + Position(r);

    private static string Position(long[] r) => Position(r[ForwardAt], r[IndexAt], r[FlagsAt], r[KindAt], r[ElementsAt], Label(r));

    private static string Position(long* r) => Position(Record(r));

    private static string Position(long forward, long index, long flags, long kind, long elements, string label)
    {
        string step = (MpiStep)kind switch
        {
            MpiStep.AllReduce => "all-reduce",
            MpiStep.AllGather => "all-gather",
            MpiStep.ReduceScatter => "reduce-scatter",
            MpiStep.Broadcast => "broadcast",
            MpiStep.Reduce => "reduce",
            MpiStep.InputCheck => "input check",
            MpiStep.ResultDownload => "result download",
            MpiStep.TrafficReport => "traffic report",
            MpiStep.WeightCheck => "weight check (Create)",
            MpiStep.CommunicatorSplit => "communicator split",
            MpiStep.GradientNorm => "gradient norm",
            MpiStep.RegionExchange => "parameter regions exchange",
            MpiStep.SaveOutcome => "save outcome",
            MpiStep.SaveGather => "save gather",
            _ => $"step kind {kind}",
        };
        step = $"'{step} over {label}{(elements > 0 ? $", {elements:N0} floats" : "")}'";
        if ((flags & InForwardFlag) != 0) return $"forward {forward} step {index + 1} {step}";
        return forward == 0 ? $"step {step} before the first forward" : $"step {step} after forward {forward}";
    }

    private static string Label(long[] r)
    {
        var bytes = MemoryMarshal.AsBytes(r.AsSpan(LabelAt, LabelBytes / sizeof(long)));
        int end = bytes.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? bytes : bytes[..end]);
    }

    /// <summary>Steps match when everything but the sender's rank is equal.</summary>
    private static bool SameStep(long* a, long* b)
    {
        for (int i = ForwardAt; i < PayloadAt; i++)
            if (a[i] != b[i]) return false;
        return true;
    }

    private void Fill(long* record, long type, MpiStep step, long elements, byte[] label)
    {
        new Span<long>(record, Length).Clear();
        record[TypeAt] = type;
        record[RankAt] = _rank;
        record[ForwardAt] = _forward;
        record[IndexAt] = _index;
        record[SequenceAt] = _sequence;
        record[FlagsAt] = _inForward ? InForwardFlag : 0;
        record[KindAt] = (long)step;
        record[ElementsAt] = elements;
        label.AsSpan(0, Math.Min(label.Length, LabelBytes)).CopyTo(new Span<byte>(record + LabelAt, LabelBytes));
    }

    private static long[] Record(long* source) => new Span<long>(source, Length).ToArray();

    /// <summary>Handles every message that has arrived: answers queries, notes leaving ranks and answers.</summary>
    private void ServiceSideChannel()
    {
        while (true)
        {
            int done = 0;
            nint receive = _receive;
            _mpi.Check(_mpi.Test(&receive, &done, null), "MPI_Test");
            _receive = receive;
            if (done == 0) return;
            var message = Record(_incoming);
            PostReceive();
            int from = (int)message[RankAt];
            if (from < 0 || from >= _size) continue;
            switch (message[TypeAt])
            {
                case QueryMessage:
                    // Where this rank is: the step it waits for, or that it is finalizing.
                    CompleteSends();
                    new Span<long>(_mine, Length).CopyTo(new Span<long>(_outgoing, Length));
                    _outgoing[TypeAt] = StatusMessage;
                    Send(_outgoing, from);
                    break;
                case StatusMessage:
                    _answers[from] = message;
                    break;
                case LeavingMessage:
                    _left[from] = message;
                    break;
            }
        }
    }

    private void PostReceive()
    {
        nint request = 0;
        _mpi.Check(_mpi.Irecv(_incoming, Length, _mpi.Int64, _mpi.AnySource, ControlTag, _control.Handle, &request), "MPI_Irecv");
        _receive = request;
    }

    private void SendToOthers(long* message)
    {
        for (int r = 0; r < _size; r++)
            if (r != _rank) Send(message, r);
    }

    private void Send(long* message, int to)
    {
        nint request = 0;
        _mpi.Check(_mpi.Isend(message, Length, _mpi.Int64, to, ControlTag, _control.Handle, &request), "MPI_Isend");
        _sends.Add(request);
    }

    /// <summary>Completes the pending sends (small messages: MPI buffers them, so this returns at once), freeing their buffer.</summary>
    private void CompleteSends()
    {
        foreach (var request in _sends)
        {
            nint r = request;
            _mpi.Wait(&r, null);
        }
        _sends.Clear();
    }

    private static long* Allocate(int longs) => (long*)NativeMemory.AllocZeroed((nuint)longs, sizeof(long));

    /// <summary>Cancels the side channel's receive and frees the communicator (before MPI_Finalize).</summary>
    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        CompleteSends();
        nint receive = _receive;
        _mpi.Cancel(&receive);
        _mpi.Wait(&receive, null);
        _control.Dispose();
        // The buffers stay: an abort may still be reading them, and there is one guard per process.
    }
}
