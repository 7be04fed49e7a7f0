using System;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

/// <summary>
/// One collective call, shared by its members. Each member's part runs on that member's worker, in queue
/// order with its kernels. All members first meet at a barrier (so no peer writes into a device that is
/// still running earlier work), then run the same number of steps, each "send, barrier, consume".
/// A send is a copy into memory of the receiving device, done by the sender and counted for it.
/// </summary>
internal abstract unsafe class CollectiveOp
{
    protected CollectiveOp(CpuDevice[] members, CollectiveStats stats)
    {
        Members = members;
        Stats = stats;
        Barrier = new CollectiveBarrier(members.Length);
    }

    protected CpuDevice[] Members { get; }

    protected int Size => Members.Length;

    protected CollectiveBarrier Barrier { get; }

    private CollectiveStats Stats { get; }

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
            Barrier.Break(e);
            throw;
        }
    }

    /// <summary>Own-device setup before the members meet (e.g. growing the receive scratch).</summary>
    protected virtual void Prepare(int member)
    {
    }

    protected abstract void Execute(int member);

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

    private void Count(int sender, long elements)
    {
        if (elements > 0) Stats.AddBytesSent(Members[sender].Rank, elements * sizeof(float));
    }

    protected static void LocalCopy(MatrixView source, MatrixView destination)
    {
        if (source == destination) return;
        Elementwise.Copy(CpuDevice.Pointer(source), source.Stride, CpuDevice.Pointer(destination), destination.Stride, source.Rows, source.Cols);
    }

    /// <summary>destination += packed row-major scratch of the same shape.</summary>
    protected static void AddPacked(float* packed, MatrixView destination) =>
        Elementwise.Add(packed, destination.Cols, CpuDevice.Pointer(destination), destination.Stride, destination.Rows, destination.Cols);

    protected int Next(int member) => (member + 1) % Size;

    protected int Mod(int x) => ((x % Size) + Size) % Size;
}
