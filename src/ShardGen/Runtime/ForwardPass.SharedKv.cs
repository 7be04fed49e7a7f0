using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Runtime;

// Grouped-query attention with fewer key/value heads than devices: each KV head's k/v columns of the q|k|v projection
// (and their biases) are replicated on the P/KvHeads devices whose query heads read it, and each copy's gradient is
// only its own query heads' part. The true gradient is the sum over that group.
public sealed partial class ForwardPass
{
    // The groups of devices that share one KV head, by the block's KV head count (blocks of a model may differ).
    private readonly Dictionary<int, DeviceGroup[]> _kvGroups = new();

    /// <summary>True when <paramref name="info"/>'s key/value heads are replicated on several devices each.</summary>
    private bool SharesKvHeads(TransformerBlock info) => info.KvHeads < P;

    /// <summary>
    /// One device's q|k|v projection backward when its KV head is shared: the query columns' dW and bias gradient go
    /// straight into the twin; the key and value columns' go into a pooled per-pass buffer [hidden (+ a bias row),
    /// 2·dh] (its weight rows [2·dh, hidden] when the twin is [out, in]; the GEMM overwrites them; the bias row, which accumulates, is zeroed first) that <see cref="SumSharedKvGradients"/> sums over the group and adds into the twin. The twin itself
    /// cannot be all-reduced: it may hold earlier micro-batches' sums, which would count once per device of the group.
    /// </summary>
    private MatrixView SharedKvProjectionBackward(int rank, MatrixView x, MatrixView dz, ShardedTransformerBlock.LinearShard weights,
        ShardedTransformerBlock.LinearShard twin, TransformerBlock info, MatrixView[] partials)
    {
        var device = Devices[rank];
        int hidden = info.Hidden, q = info.LocalHeads * info.HeadDim, kv = 2 * info.LocalKvHeads * info.HeadDim;
        bool transposed = twin.Weight.Transposed;
        var partial = partials[rank] = Allocate(rank, hidden + (twin.Bias is null ? 0 : 1), kv);
        twin.Weight.Columns(0, q).AddWeightGradient(device, x, dz.Columns(0, q));
        var dW = KvWeightGradient(partial, transposed, kv, hidden);
        if (transposed) device.Gemm(dz.Columns(q, kv), true, x, false, dW, accumulate: false);
        else device.Gemm(x, true, dz.Columns(q, kv), false, dW, accumulate: false);
        if (twin.Bias is { } dBias)
        {
            device.BiasGradient(dz.Columns(0, q), dBias.Columns(0, q));
            device.Zero(partial.RowsOf(hidden, 1));
            device.BiasGradient(dz.Columns(q, kv), partial.RowsOf(hidden, 1));
        }
        var dx = Allocate(rank, Tokens, hidden);
        weights.Weight.InputGradient(device, dz, dx);
        return dx;
    }

    /// <summary>
    /// All-reduces each KV head's partials over the devices that share it (one ring all-reduce per KV head, weight and
    /// bias together), then adds the sum into every copy's k/v columns of the twin: the copies stay equal.
    /// </summary>
    private void SumSharedKvGradients(TransformerBlock info, MatrixView[] partials, ShardedTransformerBlock.LinearShard[] twin)
    {
        int hidden = info.Hidden, q = info.LocalHeads * info.HeadDim, kv = 2 * info.LocalKvHeads * info.HeadDim;
        var groups = KvGroups(info.KvHeads);
        for (int h = 0; h < groups.Length; h++)
        {
            var views = _scratch.Views(groups[h].Size);
            for (int m = 0; m < views.Length; m++) views[m] = partials[h * views.Length + m];
            Mesh.Collectives.AllReduce(groups[h], views);
        }
        for (int rank = 0; rank < P; rank++)
        {
            var device = Devices[rank];
            var kvTwin = twin[rank].Weight.Columns(q, kv);
            kvTwin.Add(device, KvWeightGradient(partials[rank], kvTwin.Transposed, kv, hidden));
            if (twin[rank].Bias is { } dBias) device.Add(partials[rank].RowsOf(hidden, 1), dBias.Columns(q, kv));
        }
    }

    // The first hidden·kv floats of a (contiguous) partial: dW in the twin's orientation, [hidden, kv] or [kv, hidden]
    // for a checkpoint's [out, in] tensors viewed in place; the bias row follows either way.
    private static MatrixView KvWeightGradient(MatrixView partial, bool transposed, int kv, int hidden) =>
        transposed ? new MatrixView(partial.Buffer, partial.Offset, kv, hidden, hidden) : partial.RowsOf(0, hidden);

    /// <summary>The devices of KV head h: ranks h·P/KvHeads … (h+1)·P/KvHeads − 1 (TransformerShape.FirstKvHead's split).</summary>
    private DeviceGroup[] KvGroups(int kvHeads)
    {
        if (_kvGroups.TryGetValue(kvHeads, out var groups)) return groups;
        int size = P / kvHeads;
        groups = new DeviceGroup[kvHeads];
        for (int h = 0; h < kvHeads; h++)
        {
            var members = new Device[size];
            for (int m = 0; m < size; m++) members[m] = Devices[h * size + m];
            groups[h] = new DeviceGroup($"key/value head {h}", members);
        }
        return _kvGroups[kvHeads] = groups;
    }
}
