using System;

namespace ShardGen.Mpi;

/// <summary>
/// An MPI communicator (MPI_COMM_WORLD or one made by <see cref="Split"/>) with the collectives ShardGen needs, on
/// float32 host memory. Every call is collective: every member must make it, in the same order.
/// </summary>
public sealed unsafe class MpiCommunicator : IDisposable
{
    private nint _handle;
    private readonly bool _owned;

    internal MpiCommunicator(MpiLibrary library, nint handle, bool owned)
    {
        Library = library;
        _handle = handle;
        _owned = owned;
        int rank = 0, size = 0;
        library.Check(library.CommRank(handle, &rank), "MPI_Comm_rank");
        library.Check(library.CommSize(handle, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    public MpiLibrary Library { get; }

    /// <summary>This process's rank in the communicator.</summary>
    public int Rank { get; }

    public int Size { get; }

    /// <summary>The raw MPI_Comm.</summary>
    public nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle == 0, this);
            return _handle;
        }
    }

    /// <summary>
    /// MPI_Comm_split: processes with the same <paramref name="color"/> form a communicator, ranked by
    /// <paramref name="key"/>. Returns null for <paramref name="color"/> &lt; 0 (MPI_UNDEFINED: not a member).
    /// </summary>
    public MpiCommunicator? Split(int color, int key)
    {
        nint comm = 0;
        Library.Check(Library.CommSplit(Handle, color < 0 ? MpiLibrary.Undefined : color, key, &comm), "MPI_Comm_split");
        if (color < 0 || comm == Library.CommNull) return null;
        return new MpiCommunicator(Library, comm, owned: true);
    }

    /// <summary>MPI_Comm_dup: the same members in a separate matching context (messages never mix with this one's).</summary>
    public MpiCommunicator Duplicate()
    {
        nint comm = 0;
        Library.Check(Library.CommDup(Handle, &comm), "MPI_Comm_dup");
        return new MpiCommunicator(Library, comm, owned: true);
    }

    public void Barrier() => Library.Check(Library.Barrier(Handle), "MPI_Barrier");

    /// <summary>In-place sum over every member (MPI_Allreduce with MPI_IN_PLACE).</summary>
    public void AllReduceSum(float* data, int count) =>
        Library.Check(Library.Allreduce((void*)Library.InPlace, data, count, Library.Float, Library.Sum, Handle), "MPI_Allreduce");

    /// <summary>Sum of 64-bit integers over every member, in place.</summary>
    public void AllReduceSum(Span<long> values)
    {
        fixed (long* p = values)
            Library.Check(Library.Allreduce((void*)Library.InPlace, p, values.Length, Library.Int64, Library.Sum, Handle), "MPI_Allreduce");
    }

    /// <summary>Every member's <paramref name="mine"/> (same length everywhere), member i's at [i·n, (i+1)·n).</summary>
    public long[] AllGather(ReadOnlySpan<long> mine)
    {
        var all = new long[mine.Length * Size];
        AllGather(mine, all);
        return all;
    }

    /// <summary><see cref="AllGather(ReadOnlySpan{long})"/> into <paramref name="all"/> (n·<see cref="Size"/> longs), for callers that reuse it.</summary>
    public void AllGather(ReadOnlySpan<long> mine, Span<long> all)
    {
        if (all.Length != mine.Length * Size)
            throw new ArgumentException($"An all-gather of {mine.Length} longs over {Size} members needs {mine.Length * Size}, not {all.Length}.", nameof(all));
        fixed (long* s = mine)
        fixed (long* r = all)
            Library.Check(Library.Allgather(s, mine.Length, Library.Int64, r, mine.Length, Library.Int64, Handle), "MPI_Allgather");
    }

    /// <summary>
    /// MPI_Allgatherv: member i's <paramref name="counts"/>[i] floats land at receive + displacements[i].
    /// <paramref name="send"/> null: this member's data is already in place in the receive buffer.
    /// </summary>
    public void AllGatherV(float* send, int sendCount, float* receive, int[] counts, int[] displacements)
    {
        fixed (int* c = counts)
        fixed (int* d = displacements)
            Library.Check(Library.Allgatherv(send == null ? (void*)Library.InPlace : send, sendCount, Library.Float, receive, c, d, Library.Float, Handle),
                "MPI_Allgatherv");
    }

    /// <summary>MPI_Reduce_scatter (sum): send holds every block in member order; member i receives block i (counts[i] floats).</summary>
    public void ReduceScatterSum(float* send, float* receive, int[] counts)
    {
        fixed (int* c = counts)
            Library.Check(Library.ReduceScatter(send, receive, c, Library.Float, Library.Sum, Handle), "MPI_Reduce_scatter");
    }

    public void Broadcast(float* data, int count, int root) =>
        Library.Check(Library.Bcast(data, count, Library.Float, root, Handle), "MPI_Bcast");

    /// <summary>Sum to <paramref name="root"/>, in place there.</summary>
    public void ReduceSum(float* data, int count, int root) =>
        Library.Check(Rank == root
            ? Library.Reduce((void*)Library.InPlace, data, count, Library.Float, Library.Sum, root, Handle)
            : Library.Reduce(data, null, count, Library.Float, Library.Sum, root, Handle), "MPI_Reduce");

    /// <summary>
    /// Floats per point-to-point message: MPI counts are ints, so larger transfers go in pieces of 1 GiB (a test seam:
    /// the tests make it small to send a small model in many pieces).
    /// </summary>
    internal static int MessageFloats { get; set; } = 1 << 28;

    /// <summary>Sends <paramref name="count"/> floats to member <paramref name="to"/> (blocking; in messages of at most <see cref="MessageFloats"/>).</summary>
    public void Send(float* data, long count, int to, int tag)
    {
        int piece = MessageFloats;
        for (long at = 0; at < count; at += piece)
        {
            nint request = 0;
            Library.Check(Library.Isend(data + at, (int)Math.Min(piece, count - at), Library.Float, to, tag, Handle, &request), "MPI_Isend");
            Library.Check(Library.Wait(&request, null), "MPI_Wait");
        }
    }

    /// <summary>Receives <paramref name="count"/> floats from member <paramref name="from"/>, sent by <see cref="Send"/> with the same count and tag.</summary>
    public void Receive(float* data, long count, int from, int tag)
    {
        int piece = MessageFloats;
        for (long at = 0; at < count; at += piece)
        {
            nint request = 0;
            Library.Check(Library.Irecv(data + at, (int)Math.Min(piece, count - at), Library.Float, from, tag, Handle, &request), "MPI_Irecv");
            Library.Check(Library.Wait(&request, null), "MPI_Wait");
        }
    }

    public void Dispose()
    {
        if (!_owned || _handle == 0) return;
        nint h = _handle;
        _handle = 0;
        int finalized = 0;
        Library.Finalized(&finalized);
        if (finalized == 0) Library.CommFree(&h);
    }
}
