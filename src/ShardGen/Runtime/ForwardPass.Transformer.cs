using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The steps of a transformer block. The residual stream is replicated, or token-sharded with sequence
// parallelism; the tensor-parallel region between a norm and the next reduction always sees all tokens.
public sealed partial class ForwardPass
{
    /// <summary>The block's first norm, on the residual stream as it is laid out (whole, or own tokens).</summary>
    public ShardedTensor AttentionNorm(ShardedTensor x, ShardedTransformerBlock block) => Normalize(x, block, block.AttentionNorm);

    /// <summary>The block's second norm.</summary>
    public ShardedTensor MlpNorm(ShardedTensor x, ShardedTransformerBlock block) => Normalize(x, block, block.MlpNorm);

    /// <summary>Column-parallel by heads: [T, hidden] → each device's fused q|k|v of its own heads, bias included.</summary>
    public ShardedTensor QkvProjection(ShardedTensor x, ShardedTransformerBlock block)
    {
        ExpectStream(x, TensorLayout.Replicated, block);
        var info = block.Info;
        return Build(TensorLayout.Heads, info.QkvWidth, rank =>
        {
            var y = Allocate(rank, Tokens, info.LocalQkvWidth);
            var w = block.Qkv[rank];
            Devices[rank].Gemm(x.Shards[rank], false, w.Weight, false, y, accumulate: false, w.Bias);
            return y;
        });
    }

    /// <summary>Scaled dot-product attention of each device's heads, within each sequence: context columns of its heads.</summary>
    public ShardedTensor Attention(ShardedTensor qkv, ShardedTransformerBlock block)
    {
        if (qkv.Layout != TensorLayout.Heads)
            throw new System.InvalidOperationException($"Block '{block.Info.Name}': attention needs the q|k|v projections, got {qkv}.");
        var info = block.Info;
        var shape = new AttentionShape(info.LocalHeads, info.LocalKvHeads, info.HeadDim, info.Shape.Causal, SequenceStarts);
        return Build(TensorLayout.ColumnSharded, info.Heads * info.HeadDim, rank =>
        {
            var y = Allocate(rank, Tokens, shape.OutputWidth);
            Devices[rank].Attention(qkv.Shards[rank], y, shape);
            return y;
        });
    }

    /// <summary>Row-parallel output projection: each device's heads → partial sums of [T, hidden].</summary>
    public ShardedTensor AttentionOutput(ShardedTensor context, ShardedTransformerBlock block) =>
        PartialProjection(context, block, block.Out);

    /// <summary>Column-parallel MLP up-projection with its activation fused: [T, hidden] → own [T, ffn/P].</summary>
    public ShardedTensor MlpUp(ShardedTensor x, ShardedTransformerBlock block)
    {
        ExpectStream(x, TensorLayout.Replicated, block);
        var info = block.Info;
        return Build(TensorLayout.ColumnSharded, info.FfnHidden, rank =>
        {
            var y = Allocate(rank, Tokens, info.LocalFfn);
            var w = block.Up[rank];
            Devices[rank].Gemm(x.Shards[rank], false, w.Weight, false, y, accumulate: false, w.Bias, info.Activation);
            return y;
        });
    }

    /// <summary>Row-parallel MLP down-projection → partial sums of [T, hidden].</summary>
    public ShardedTensor MlpDown(ShardedTensor hidden, ShardedTransformerBlock block) =>
        PartialProjection(hidden, block, block.Down);

    /// <summary>After the attention reduction: y += output bias (once) + the block's input.</summary>
    public void AttentionResidual(ShardedTensor y, ShardedTensor residual, ShardedTransformerBlock block) =>
        AddResidual(y, residual, block, block.Out);

    /// <summary>After the MLP reduction: y += down-projection bias (once) + the attention half's output.</summary>
    public void MlpResidual(ShardedTensor y, ShardedTensor residual, ShardedTransformerBlock block) =>
        AddResidual(y, residual, block, block.Down);

    /// <summary>Token shards → all tokens on every device (ring all-gather over the token dimension).</summary>
    public ShardedTensor AllGatherTokens(ShardedTensor shards)
    {
        Expect(shards, TensorLayout.TokenSharded);
        int f = shards.Features;
        var full = Build(TensorLayout.Replicated, f, rank => Allocate(rank, Tokens, f));
        var targets = new System.Collections.Generic.IReadOnlyList<MatrixView>[P];
        for (int j = 0; j < P; j++)
        {
            var row = new MatrixView[P];
            for (int i = 0; i < P; i++)
            {
                var (t0, tn) = TokenShard(i);
                row[i] = full.Shards[j].RowsOf(t0, tn);
            }
            targets[j] = row;
        }
        Mesh.Collectives.AllGather(Mesh.World, shards.Shards, targets);
        return full;
    }

    /// <summary>Partial sums → device r holds the sum of token block r only (ring reduce-scatter over tokens).</summary>
    public ShardedTensor ReduceScatterTokens(ShardedTensor partial)
    {
        Expect(partial, TensorLayout.PartialSum);
        int f = partial.Features;
        var parts = new System.Collections.Generic.IReadOnlyList<MatrixView>[P];
        for (int j = 0; j < P; j++)
        {
            var row = new MatrixView[P];
            for (int i = 0; i < P; i++)
            {
                var (t0, tn) = TokenShard(i);
                row[i] = partial.Shards[j].RowsOf(t0, tn);
            }
            parts[j] = row;
        }
        var result = Build(TensorLayout.TokenSharded, f, rank => Allocate(rank, TokenShard(rank).Length, f));
        Mesh.Collectives.ReduceScatter(Mesh.World, parts, result.Shards);
        return result;
    }

    /// <summary>Replicated → token shards: each device keeps its token block as a view; nothing is sent.</summary>
    public ShardedTensor SliceTokens(ShardedTensor full)
    {
        Expect(full, TensorLayout.Replicated);
        return Build(TensorLayout.TokenSharded, full.Features, rank =>
        {
            var (t0, tn) = TokenShard(rank);
            return full.Shards[rank].RowsOf(t0, tn);
        });
    }

    private ShardedTensor Normalize(ShardedTensor x, ShardedTransformerBlock block, ShardedTransformerBlock.NormShard[] norm)
    {
        if (x.Layout is not (TensorLayout.Replicated or TensorLayout.TokenSharded) || x.Features != block.Info.Hidden)
            throw new System.InvalidOperationException($"Block '{block.Info.Name}': a norm needs the residual stream [T, {block.Info.Hidden}], got {x}.");
        var shape = block.Info.Shape;
        return Build(x.Layout, x.Features, rank =>
        {
            var src = x.Shards[rank];
            var y = Allocate(rank, src.Rows, src.Cols);
            if (src.Rows > 0) Devices[rank].Normalize(src, y, shape.Norm, norm[rank].Scale, norm[rank].Shift, shape.Epsilon);
            return y;
        });
    }

    private ShardedTensor PartialProjection(ShardedTensor x, ShardedTransformerBlock block, ShardedTransformerBlock.LinearShard[] weights)
    {
        Expect(x, TensorLayout.ColumnSharded);
        int d = block.Info.Hidden;
        return Build(TensorLayout.PartialSum, d, rank =>
        {
            var y = Allocate(rank, Tokens, d);
            Devices[rank].Gemm(x.Shards[rank], false, weights[rank].Weight, false, y, accumulate: false);
            return y;
        });
    }

    private void AddResidual(ShardedTensor y, ShardedTensor residual, ShardedTransformerBlock block, ShardedTransformerBlock.LinearShard[] projection)
    {
        if (y.Layout != residual.Layout || y.Layout is not (TensorLayout.Replicated or TensorLayout.TokenSharded))
            throw new System.InvalidOperationException($"Block '{block.Info.Name}': residual add of {residual} into {y}.");
        for (int rank = 0; rank < P; rank++)
        {
            if (y.Shards[rank].Rows == 0) continue;
            if (projection[rank].Bias is { } bias) Devices[rank].BiasActivation(y.Shards[rank], bias, Activation.None);
            Devices[rank].Add(residual.Shards[rank], y.Shards[rank]);
        }
    }

    private static void ExpectStream(ShardedTensor x, TensorLayout layout, ShardedTransformerBlock block)
    {
        if (x.Layout != layout || x.Features != block.Info.Hidden)
            throw new System.InvalidOperationException($"Block '{block.Info.Name}' needs a {layout} input of {block.Info.Hidden} features, got {x}.");
    }
}
