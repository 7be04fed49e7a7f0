using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The steps of a transformer block. The residual stream is replicated, or token-sharded with sequence
// parallelism; the tensor-parallel region between a norm and the next reduction always sees all tokens.
public sealed partial class ForwardPass
{
    /// <summary>The block's first norm, on the whole residual stream.</summary>
    public ShardedTensor<Replicated> AttentionNorm(ShardedTensor<Replicated> x, ShardedTransformerBlock block) =>
        new(Normalize(x.Tensor, block, block.AttentionNorm));

    /// <summary>The block's first norm, on each device's own tokens (sequence parallelism).</summary>
    public ShardedTensor<TokenShards> AttentionNorm(ShardedTensor<TokenShards> x, ShardedTransformerBlock block) =>
        new(Normalize(x.Tensor, block, block.AttentionNorm));

    /// <summary>The block's second norm, on the whole residual stream.</summary>
    public ShardedTensor<Replicated> MlpNorm(ShardedTensor<Replicated> x, ShardedTransformerBlock block) =>
        new(Normalize(x.Tensor, block, block.MlpNorm));

    /// <summary>The block's second norm, on each device's own tokens.</summary>
    public ShardedTensor<TokenShards> MlpNorm(ShardedTensor<TokenShards> x, ShardedTransformerBlock block) =>
        new(Normalize(x.Tensor, block, block.MlpNorm));

    /// <summary>Column-parallel by heads: [T, hidden] → each device's fused q|k|v of its own heads, bias included.</summary>
    public ShardedTensor<HeadShards> QkvProjection(ShardedTensor<Replicated> x, ShardedTransformerBlock block) =>
        new(ColumnProjection(x.Tensor, block, block.Qkv, Placement.HeadShards, block.Info.QkvWidth, block.Info.LocalQkvWidth, Activation.None));

    /// <summary>Scaled dot-product attention of each device's heads, within each sequence: context columns of its heads.</summary>
    public ShardedTensor<ColumnShards> Attention(ShardedTensor<HeadShards> qkv, ShardedTransformerBlock block)
    {
        if (qkv.Placement != Placement.HeadShards)
            throw new InvalidOperationException($"Block '{block.Info.Name}': attention needs the q|k|v projections, got {qkv}.");
        var info = block.Info;
        var shape = _scratch.Attention(info.LocalHeads, info.LocalKvHeads, info.HeadDim, info.Shape.Causal, SequenceStarts, info.Shape.WindowOf(block.Index));
        // Every (sequence, head, row) of the context is written: the sequences tile the tokens.
        var y = Next(Placement.ColumnShards, info.Heads * info.HeadDim);
        int rotated = (info.LocalHeads + info.LocalKvHeads) * info.HeadDim;
        for (int rank = 0; rank < P; rank++)
        {
            var shard = y.ShardArray[rank] = AllocateLocal(rank, Tokens, shape.OutputWidth);
            var device = Devices[rank];
            // q and k heads sit side by side at the start of q|k|v: one rotation over both.
            if (info.Shape.Rotary)
                device.Rotary(qkv.ShardArray[rank].Columns(0, rotated), info.LocalHeads + info.LocalKvHeads, info.HeadDim, Positions, info.Shape.RopeTheta);
            if (Cache is { } cache)
                device.Attention(qkv.ShardArray[rank], shard, shape, cache.Keys(rank, block.Index), cache.Values(rank, block.Index), cache.Length);
            else
                device.Attention(qkv.ShardArray[rank], shard, shape);
        }
        return new(y);
    }

    /// <summary>Row-parallel output projection: each device's heads → partial sums of [T, hidden].</summary>
    public ShardedTensor<PartialSums> AttentionOutput(ShardedTensor<ColumnShards> context, ShardedTransformerBlock block) =>
        new(PartialProjection(context.Tensor, block, block.Out));

    /// <summary>Column-parallel MLP up-projection with its activation fused: [T, hidden] → own [T, ffn/P].</summary>
    public ShardedTensor<ColumnShards> MlpUp(ShardedTensor<Replicated> x, ShardedTransformerBlock block)
    {
        var info = block.Info;
        if (!info.Gated && !Training)
            return new(ColumnProjection(x.Tensor, block, block.Up, Placement.ColumnShards, info.FfnHidden, info.LocalFfn, info.Activation));
        if (!info.Gated)
        {
            // Training keeps z = x·W + b for the activation's backward: the GEMM without the fused activation, then act(z).
            var z = ColumnProjection(x.Tensor, block, block.Up, Placement.ColumnShards, info.FfnHidden, info.LocalFfn, Activation.None);
            var h = Next(Placement.ColumnShards, info.FfnHidden);
            for (int rank = 0; rank < P; rank++)
            {
                var shard = h.ShardArray[rank] = AllocateLocal(rank, Tokens, info.LocalFfn);
                Devices[rank].Copy(z.ShardArray[rank], shard);
                Devices[rank].BiasActivation(shard, null, info.Activation);
            }
            h.PreActivation = z;
            return new(h);
        }
        // Gated: one GEMM to this device's [gate | up] columns, then act(gate) ⊙ up.
        var gateUp = ColumnProjection(x.Tensor, block, block.Up, Placement.ColumnShards, 2 * info.FfnHidden, info.LocalUpWidth, Activation.None);
        var y = Next(Placement.ColumnShards, info.FfnHidden);
        for (int rank = 0; rank < P; rank++)
        {
            var shard = y.ShardArray[rank] = AllocateLocal(rank, Tokens, info.LocalFfn);
            Devices[rank].GatedActivation(gateUp.ShardArray[rank], shard, info.Activation);
        }
        // The backward of act(gate) ⊙ up reads [gate | up]: a training pass keeps it (its buffers stay until the pass ends).
        if (Training) y.PreActivation = gateUp;
        return new(y);
    }

    /// <summary>Row-parallel MLP down-projection → partial sums of [T, hidden].</summary>
    public ShardedTensor<PartialSums> MlpDown(ShardedTensor<ColumnShards> hidden, ShardedTransformerBlock block) =>
        new(PartialProjection(hidden.Tensor, block, block.Down));

    /// <summary>After the attention all-reduce: y += output bias (once) + the block's input.</summary>
    public void AttentionResidual(ShardedTensor<Replicated> y, ShardedTensor<Replicated> residual, ShardedTransformerBlock block) =>
        AddResidual(y.Tensor, residual.Tensor, block, block.Out);

    /// <summary>After the attention reduce-scatter onto tokens: y += output bias (once) + the block's input.</summary>
    public void AttentionResidual(ShardedTensor<TokenShards> y, ShardedTensor<TokenShards> residual, ShardedTransformerBlock block) =>
        AddResidual(y.Tensor, residual.Tensor, block, block.Out);

    /// <summary>After the MLP all-reduce: y += down-projection bias (once) + the attention half's output.</summary>
    public void MlpResidual(ShardedTensor<Replicated> y, ShardedTensor<Replicated> residual, ShardedTransformerBlock block)
    {
        AddResidual(y.Tensor, residual.Tensor, block, block.Down);
        ReleaseLocal();
    }

    /// <summary>After the MLP reduce-scatter onto tokens: y += down-projection bias (once) + the attention half's output.</summary>
    public void MlpResidual(ShardedTensor<TokenShards> y, ShardedTensor<TokenShards> residual, ShardedTransformerBlock block)
    {
        AddResidual(y.Tensor, residual.Tensor, block, block.Down);
        ReleaseLocal();
    }

    /// <summary>Token shards → all tokens on every device (ring all-gather over the token dimension).</summary>
    public ShardedTensor<Replicated> AllGather(ShardedTensor<TokenShards> shards)
    {
        Expect(shards, Placement.TokenShards);
        int f = shards.Features;
        // The P token blocks tile each target, so it is overwritten whole.
        var full = NextAllocated(Placement.Replicated, f, f);
        var targets = Blocks(full, byTokens: true, 0);
        Mesh.Collectives.AllGather(Mesh.World, shards.Shards, targets);
        return new(full);
    }

    /// <summary>Partial sums → device r holds the sum of token block r only (ring reduce-scatter over tokens).</summary>
    public ShardedTensor<TokenShards> ReduceScatterTokens(ShardedTensor<PartialSums> partial)
    {
        Expect(partial, Placement.Partial);
        int f = partial.Features;
        var parts = Blocks(partial.Tensor, byTokens: true, 0);
        // Each result is written whole: a copy of the own part, then the others added.
        var result = NextAllocated(Placement.TokenShards, f, f);
        Mesh.Collectives.ReduceScatter(Mesh.World, parts, result.Shards);
        return new(result);
    }

    /// <summary>Replicated → token shards: each device keeps its token block as a view; nothing is sent.</summary>
    public ShardedTensor<TokenShards> SliceTokens(ShardedTensor<Replicated> full)
    {
        Expect(full, Placement.Replicated);
        var y = Next(Placement.TokenShards, full.Features);
        for (int rank = 0; rank < P; rank++)
        {
            var (t0, tn) = TokenShard(rank);
            y.ShardArray[rank] = full.ShardArray[rank].RowsOf(t0, tn);
        }
        return new(y);
    }

    private ShardedTensor Normalize(ShardedTensor x, ShardedTransformerBlock block, ShardedTransformerBlock.NormShard[] norm)
    {
        if ((x.Placement != Placement.Replicated && x.Placement != Placement.TokenShards) || x.Features != block.Info.Hidden)
            throw new InvalidOperationException($"Block '{block.Info.Name}': a norm needs the residual stream [T, {block.Info.Hidden}], got {x}.");
        var shape = block.Info.Shape;
        var y = Next(x.Placement, x.Features);
        for (int rank = 0; rank < P; rank++)
        {
            // Every row is normalized into y: overwritten whole.
            var src = x.ShardArray[rank];
            // Replicated, the norm feeds only this device's projection; token shards are all-gathered by the others.
            var shard = y.ShardArray[rank] = x.Placement == Placement.Replicated ? AllocateLocal(rank, src.Rows, src.Cols) : Allocate(rank, src.Rows, src.Cols);
            if (src.Rows > 0) Devices[rank].Normalize(src, shard, shape.Norm, norm[rank].Scale, norm[rank].Shift, shape.Epsilon);
        }
        return y;
    }

    // A column-parallel projection of the replicated stream: each device's own output columns, bias and activation fused.
    private ShardedTensor ColumnProjection(ShardedTensor x, ShardedTransformerBlock block, ShardedTransformerBlock.LinearShard[] weights,
        Placement placement, int features, int localFeatures, Activation activation)
    {
        ExpectStream(x, Placement.Replicated, block);
        var y = Next(placement, features);
        for (int rank = 0; rank < P; rank++)
        {
            var shard = y.ShardArray[rank] = AllocateLocal(rank, Tokens, localFeatures);
            var w = weights[rank];
            w.Weight.Forward(Devices[rank], x.ShardArray[rank], shard, w.Bias, activation);
        }
        return y;
    }

    private ShardedTensor PartialProjection(ShardedTensor x, ShardedTransformerBlock block, ShardedTransformerBlock.LinearShard[] weights)
    {
        Expect(x, Placement.ColumnShards);
        int d = block.Info.Hidden;
        var y = Next(Placement.Partial, d);
        for (int rank = 0; rank < P; rank++)
        {
            var shard = y.ShardArray[rank] = Allocate(rank, Tokens, d);
            weights[rank].Weight.Forward(Devices[rank], x.ShardArray[rank], shard);
        }
        return y;
    }

    private void AddResidual(ShardedTensor y, ShardedTensor residual, ShardedTransformerBlock block, ShardedTransformerBlock.LinearShard[] projection)
    {
        if (y.Placement != residual.Placement || (y.Placement != Placement.Replicated && y.Placement != Placement.TokenShards))
            throw new InvalidOperationException($"Block '{block.Info.Name}': residual add of {residual} into {y}.");
        for (int rank = 0; rank < P; rank++)
        {
            if (y.ShardArray[rank].Rows == 0) continue;
            if (projection[rank].Bias is { } bias) Devices[rank].BiasActivation(y.ShardArray[rank], bias, Activation.None);
            Devices[rank].Add(residual.ShardArray[rank], y.ShardArray[rank]);
        }
    }

    private static void ExpectStream(ShardedTensor x, Placement placement, ShardedTransformerBlock block)
    {
        if (x.Placement != placement || x.Features != block.Info.Hidden)
            throw new InvalidOperationException($"Block '{block.Info.Name}' needs a {placement} input of {block.Info.Hidden} features, got {x}.");
    }
}
