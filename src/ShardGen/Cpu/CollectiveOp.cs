using System;
using System.Threading;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

/// <summary>
/// One collective call, shared by its members. Each member's part runs on that member's worker, in queue
/// order with its kernels. All members first meet at a barrier (so no peer writes into a device that is
/// still running earlier work), then run the same number of steps, each "send, barrier, consume".
/// A send is a copy into memory of the receiving device, done by the sender and counted for it.
/// Ops are reused: the engine fills one from its pool (members and views copied into the op's own arrays),
/// and the last member to finish hands it back, so a steady stream of collectives allocates nothing.
/// </summary>
internal abstract unsafe class CollectiveOp
{
    private CollectiveOpPool? _pool;
    private int _running;
    private volatile bool _failed;

    protected CollectiveOp(int size, CollectiveStats stats)
    {
        Members = new CpuDevice[size];
        Stats = stats;
        Barrier = new CollectiveBarrier(size);
    }

    /// <summary>The group's devices, member order; filled by the engine before each use.</summary>
    public CpuDevice[] Members { get; }

    protected int Size => Members.Length;

    protected CollectiveBarrier Barrier { get; }

    private CollectiveStats Stats { get; }

    public abstract CollectiveKind Kind { get; }

    /// <summary>Called by the engine once the op is filled, before it is enqueued on the members.</summary>
    public void Start(CollectiveOpPool pool)
    {
        _pool = pool;
        _running = Size;
    }

    public void Run(int member)
    {
        try
        {
            Prepare(member);
            Barrier.SignalAndWait();
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
                ForgetViews(); // an idle op in the pool must not keep a dropped model's buffers alive
                _pool?.Return(this);
            }
        }
    }

    /// <summary>Own-device setup before the members meet (e.g. growing the receive scratch).</summary>
    protected virtual void Prepare(int member)
    {
    }

    protected abstract void Execute(int member);

    /// <summary>Clears the views the engine filled in, once every member is done with them.</summary>
    protected abstract void ForgetViews();

    /// <summary>Copies a view of the sender into a view on another device and counts the bytes.</summary>
    protected void Send(int sender, MatrixView source, MatrixView destination)
    {
        Elementwise.Copy(CpuDevice.Pointer(source), source.Stride, CpuDevice.Pointer(destination), destination.Stride, source.Rows, source.Cols);
        Count(sender, source.Elements);
    }

    /// <summary>Copies a view of the sender, packed row-major, into another device's scratch.</summary>
    protected void Send(int sender, MatrixView source, float* destination)
    {
        Elementwise.Copy(CpuDevice.Pointer(source), source.Stride, destination, source.Cols, source.Rows, source.Cols);
        Count(sender, source.Elements);
    }

    protected void Send(int sender, float* source, float* destination, int elements)
    {
        Elementwise.CopyRow(source, destination, elements);
        Count(sender, elements);
    }

    /// <summary>Counts elements that crossed from member <paramref name="sender"/> to another device.</summary>
    protected void Count(int sender, long elements)
    {
        if (elements > 0) Stats.AddBytesSent(Members[sender].Rank, elements * sizeof(float));
    }

    protected static void LocalCopy(MatrixView source, MatrixView destination)
    {
        if (source == destination) return;
        Elementwise.Copy(CpuDevice.Pointer(source), source.Stride, CpuDevice.Pointer(destination), destination.Stride, source.Rows, source.Cols);
    }

    /// <summary>destination += source, a view of the same shape (possibly on another device: the caller counts it).</summary>
    protected static void Add(MatrixView source, MatrixView destination) =>
        Elementwise.Add(CpuDevice.Pointer(source), source.Stride, CpuDevice.Pointer(destination), destination.Stride, destination.Rows, destination.Cols);

    /// <summary>destination += packed row-major scratch of the same shape.</summary>
    protected static void AddPacked(float* packed, MatrixView destination) =>
        Elementwise.Add(packed, destination.Cols, CpuDevice.Pointer(destination), destination.Stride, destination.Rows, destination.Cols);

    protected static void ClearAll(MatrixView[] views, MatrixView[][] rows)
    {
        Array.Clear(views);
        foreach (var row in rows) Array.Clear(row);
    }

    protected static MatrixView[][] NewMatrix(int size)
    {
        var rows = new MatrixView[size][];
        for (int j = 0; j < size; j++) rows[j] = new MatrixView[size];
        return rows;
    }

    protected int Next(int member) => (member + 1) % Size;

    protected int Mod(int x) => ((x % Size) + Size) % Size;
}
