using ShardGen.Collectives;
using ShardGen.Devices;

namespace ShardGen.Ilgpu;

/// <summary>
/// The accelerator transport of a <see cref="ScheduledCollective{TDevice}"/>: a send copies the sender's chunk packed
/// into a receive slot of the receiving device (peer to peer, or staged through host memory), and after the members
/// meet the receiver copies or adds it into place. Two slots alternate by step, so a message never overwrites one the
/// receiver is still consuming.
/// </summary>
internal sealed class IlgpuCollective(CollectiveKind kind, int size, CollectiveStats stats, IlgpuDeviceMesh mesh)
    : ScheduledCollective<IlgpuDevice>(kind, size, stats)
{
    protected override void Prepare(int member)
    {
        bool staged = false;
        for (int j = 0; j < Size; j++) staged |= Mode(j, member) == IlgpuTransfer.StagedThroughHost;
        Members[member].PrepareSlots(LargestChunk, staged);
    }

    protected override bool SendWritesPeer(TransferOp op) => true;

    protected override bool ReceiveReadsPeer(TransferOp op) => false;

    protected override void Send(in Transfer t, int slot) =>
        Members[t.From].SendPacked(Chunk(t.From, t.Chunk), Members[t.To], slot, Mode(t.From, t.To));

    protected override void Receive(in Transfer t, int slot) =>
        Members[t.To].ReceivePacked(slot, Chunk(t.To, t.Chunk), t.Op == TransferOp.Add, Mode(t.From, t.To));

    protected override void LocalCopy(int member, MatrixView source, MatrixView destination) => Members[member].LocalCopy(source, destination);

    private IlgpuTransfer Mode(int from, int to) => mesh.TransferBetween(Members[from].Rank, Members[to].Rank);
}
