using System;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

// The device side of the collectives. Every message lands packed (row-major, no gaps) in a receive slot of the
// receiving device: the sender copies it there directly (peer-to-peer) or into a pinned host slot of the receiver
// (staged), and after the members meet the receiver uploads a staged message and copies or adds it into place.
// All of it runs on the devices' own workers, inside a collective's part.
public sealed partial class IlgpuDevice
{
    private readonly float[]?[] _hostSlots = new float[2][];
    private long _slotFloats;

    /// <summary>Enables peer access from this device to <paramref name="other"/> when the pair supports it (on this device's worker).</summary>
    internal bool TryEnablePeerAccess(IlgpuDevice other) => Invoke(() =>
    {
        try
        {
            return Accelerator.CanAccessPeer(other.Accelerator) && Accelerator.EnablePeerAccess(other.Accelerator);
        }
        catch (Exception)
        {
            return false;
        }
    });

    /// <summary>Own worker, before the members meet: two receive slots of <paramref name="floats"/> each, and host slots when a peer stages.</summary>
    internal void PrepareSlots(long floats, bool staged)
    {
        Stream.Synchronize();
        floats = Math.Max(floats, 1);
        ReceiveSlots(2 * floats);
        _slotFloats = floats;
        if (staged)
            for (int s = 0; s < 2; s++)
                if (_hostSlots[s] == null || _hostSlots[s]!.Length < floats)
                    _hostSlots[s] = GC.AllocateUninitializedArray<float>((int)Math.Min(int.MaxValue, Math.Max(floats, 2L * (_hostSlots[s]?.Length ?? 0))), pinned: true);
    }

    /// <summary>Sender's worker: copies <paramref name="source"/> packed into slot <paramref name="slot"/> of <paramref name="receiver"/>.</summary>
    internal void SendPacked(MatrixView source, IlgpuDevice receiver, int slot, IlgpuTransfer mode)
    {
        int n = source.Elements;
        if (n == 0) return;
        ArrayView<float> packed;
        if (source.IsContiguous)
        {
            packed = ViewOf(source).SubView(source.Offset, n);
        }
        else
        {
            packed = Scratch(n).SubView(0, n);
            KernelSet.Copy(Stream, ViewOf(source), Layout(source), packed, new ViewLayout(0, source.Cols, source.Cols), source.Rows);
        }
        if (mode == IlgpuTransfer.PeerToPeer)
        {
            packed.CopyTo(Stream, receiver.ReceiveSlots().SubView(slot * receiver._slotFloats, n));
        }
        else
        {
            var host = receiver._hostSlots[slot] ?? throw new InvalidOperationException($"{receiver.Name} has no host receive slot.");
            packed.CopyToCPUUnsafeAsync(Stream, ref host[0], n);
        }
        // The receiver reads the slot after the members meet: the copy must have landed.
        Stream.Synchronize();
    }

    /// <summary>Receiver's worker, after the members met: copies (or adds) the message in <paramref name="slot"/> into <paramref name="destination"/>.</summary>
    internal void ReceivePacked(int slot, MatrixView destination, bool add, IlgpuTransfer mode)
    {
        int n = destination.Elements;
        if (n == 0) return;
        var landing = ReceiveSlots().SubView(slot * _slotFloats, n);
        if (mode == IlgpuTransfer.StagedThroughHost)
            landing.CopyFromCPUUnsafeAsync(Stream, ref _hostSlots[slot]![0], n);
        var packed = new ViewLayout(0, destination.Cols, destination.Cols);
        if (add) KernelSet.Add(Stream, landing, packed, ViewOf(destination), Layout(destination), destination.Rows);
        else KernelSet.Copy(Stream, landing, packed, ViewOf(destination), Layout(destination), destination.Rows);
        // The slot may be written again two steps later, once the members have met again.
        Stream.Synchronize();
    }

    /// <summary>Own worker: destination = source on this device (skipped when they are the same view).</summary>
    internal void LocalCopy(MatrixView source, MatrixView destination)
    {
        if (source == destination) return;
        KernelSet.Copy(Stream, ViewOf(source), Layout(source), ViewOf(destination), Layout(destination), source.Rows);
        Stream.Synchronize();
    }
}
