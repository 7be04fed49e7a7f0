using System.Runtime.Intrinsics;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

/// <summary>
/// The CPU transport of a <see cref="ScheduledCollective{TDevice}"/>: every device's memory is host memory, so a
/// copy is written by the sender straight into the receiver's chunk, and an add is done by the receiver reading
/// the sender's chunk straight into its own (no receive buffer). The ring all-reduce's last reduce step also stores
/// the finished chunk into the next member in the same pass (all-gather step 0).
/// </summary>
internal sealed unsafe class CpuCollective(CollectiveKind kind, int size, CollectiveStats stats)
    : ScheduledCollective<CpuDevice>(kind, size, stats)
{
    protected override bool SendWritesPeer(TransferOp op) => op == TransferOp.Copy;

    protected override bool ReceiveReadsPeer(TransferOp op) => op == TransferOp.Add;

    protected override void Send(in Transfer t, int slot)
    {
        if (t.Op == TransferOp.Copy) Copy(Chunk(t.From, t.Chunk), Chunk(t.To, t.Chunk));
    }

    protected override void Receive(in Transfer t, int slot)
    {
        if (t.Op != TransferOp.Add) return;
        MatrixView source = Chunk(t.From, t.Chunk), destination = Chunk(t.To, t.Chunk);
        Elementwise.Add(CpuDeviceBuffer.Pointer(source), source.Stride, CpuDeviceBuffer.Pointer(destination), destination.Stride, destination.Rows, destination.Cols);
    }

    protected override void LocalCopy(int member, MatrixView source, MatrixView destination)
    {
        if (source != destination) Copy(source, destination);
    }

    protected override bool FusesAddAndForward => true;

    protected override void AddAndForward(in Transfer received, in Transfer forwarded) =>
        AddAndCopy(Chunk(received.From, received.Chunk), Chunk(received.To, received.Chunk), Chunk(forwarded.To, forwarded.Chunk));

    private static void AddAndCopy(MatrixView source, MatrixView destination, MatrixView forwarded)
    {
        float* s = CpuDeviceBuffer.Pointer(source), d = CpuDeviceBuffer.Pointer(destination), f = CpuDeviceBuffer.Pointer(forwarded);
        for (int r = 0; r < destination.Rows; r++)
            AddAndCopy(s + (nint)r * source.Stride, d + (nint)r * destination.Stride, f + (nint)r * forwarded.Stride, destination.Cols);
    }

    private static void Copy(MatrixView source, MatrixView destination) =>
        Elementwise.Copy(CpuDeviceBuffer.Pointer(source), source.Stride, CpuDeviceBuffer.Pointer(destination), destination.Stride, source.Rows, source.Cols);

    /// <summary>data += source, and the sum also stored into copy, in one pass over the row.</summary>
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
}
