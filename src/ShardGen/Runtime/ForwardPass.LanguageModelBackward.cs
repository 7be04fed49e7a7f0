using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The backward of the steps around the transformer stack: the LM head (tied or not), the final norm, learned
// positions and the vocab-parallel token embedding.
public sealed partial class ForwardPass
{
    /// <summary>
    /// The LM head's backward: dX = dLogits_r·op(W_r)ᵀ as partial sums (all-reduce them), dW_r += the product of x and
    /// dLogits_r in the weight's layout (a tied head's weight is the embedding's rows: its gradient goes into the
    /// embedding twin's tables), the bias's gradient on its vocabulary range.
    /// </summary>
    public ShardedTensor<PartialSums> LmHeadBackward(ShardedTensor<ColumnShards> dLogits, ShardedTensor<Replicated> x, ShardedLinear head)
    {
        ExpectTraining(nameof(LmHeadBackward));
        Expect(x, Placement.Replicated, head);
        var info = head.Info;
        if (dLogits.Placement != Placement.ColumnShards || dLogits.Features != info.OutFeatures)
            throw new InvalidOperationException($"Layer '{info.Name}': LmHeadBackward needs dLogits column shards [T, {info.OutFeatures}], got {dLogits}.");
        var twin = _core.GradientOf(head);
        bool transposed = head.TransposedWeight;
        var dx = Next(Placement.Partial, info.InFeatures);
        for (int rank = 0; rank < P; rank++)
        {
            var device = Devices[rank];
            var dl = dLogits.ShardArray[rank];
            var xr = x.ShardArray[rank];
            // Forward: logits = x·op(W), op(W) = W [hidden, Vr] or Wᵀ for W [Vr, hidden].
            var shard = dx.ShardArray[rank] = Allocate(rank, Tokens, info.InFeatures);
            device.Gemm(dl, false, head.Weights[rank], !transposed, shard, accumulate: false);
            if (transposed) device.Gemm(dl, true, xr, false, twin.Weights[rank], accumulate: true);
            else device.Gemm(xr, true, dl, false, twin.Weights[rank], accumulate: true);
            if (twin.Biases[rank] is { } dBias) device.BiasGradient(dl, dBias);
        }
        return new(dx);
    }

    /// <summary>The final norm's backward: returns the residual stream's gradient (written over dY), γ's and β's gradients accumulated.</summary>
    public ShardedTensor<Replicated> FinalNormBackward(ShardedTensor<Replicated> dY, ShardedTensor<Replicated> x, ShardedNorm norm) =>
        new(StreamNormBackward(dY.Tensor, x.Tensor, norm));

    /// <summary>As above on each device's own tokens: γ's and β's gradients are summed over the devices at the backward's end.</summary>
    public ShardedTensor<TokenShards> FinalNormBackward(ShardedTensor<TokenShards> dY, ShardedTensor<TokenShards> x, ShardedNorm norm) =>
        new(StreamNormBackward(dY.Tensor, x.Tensor, norm));

    /// <summary>Learned positions: dTable[position(t)] += dStream[t] on every device (the table is replicated, so is its gradient).</summary>
    public void PositionEmbeddingBackward(ShardedTensor<Replicated> dStream, ShardedEmbedding positions) => PositionsBackward(dStream.Tensor, positions);

    /// <summary>As above for each device's own tokens; the partial tables are summed over the devices at the backward's end.</summary>
    public void PositionEmbeddingBackward(ShardedTensor<TokenShards> dStream, ShardedEmbedding positions) => PositionsBackward(dStream.Tensor, positions);

    /// <summary>
    /// The vocab-parallel embedding's backward: each device adds dStream's rows into its own vocabulary rows of the
    /// twin (ids outside its range are another device's). Under sequence parallelism the replicated parameters' partial
    /// gradients are summed afterwards by the explicit <see cref="SumReplicatedGradients"/>.
    /// </summary>
    public void TokenEmbeddingBackward(ShardedTensor<Replicated> dStream, ShardedEmbedding embedding)
    {
        ExpectTraining(nameof(TokenEmbeddingBackward));
        var info = embedding.Info;
        if (dStream.Placement != Placement.Replicated || dStream.Features != info.Hidden)
            throw new InvalidOperationException($"Embedding '{info.Name}': TokenEmbeddingBackward needs the replicated stream's gradient [T, {info.Hidden}], got {dStream}.");
        var twin = _core.GradientOf(embedding);
        for (int rank = 0; rank < P; rank++)
            Devices[rank].ScatterAddRows(TokenIds, info.FirstRow(rank), dStream.ShardArray[rank], twin.Tables[rank]);
    }

    private ShardedTensor StreamNormBackward(ShardedTensor dY, ShardedTensor x, ShardedNorm norm)
    {
        ExpectTraining(nameof(FinalNormBackward));
        var info = norm.Info;
        ReadOnlySpan<ShardedTensor> both = [dY, x]; // on the stack: a steady-state pass allocates nothing
        foreach (var t in both)
            if ((t.Placement != Placement.Replicated && t.Placement != Placement.TokenShards) || t.Features != info.Hidden || t.Placement != x.Placement)
                throw new InvalidOperationException($"Norm '{info.Name}': its backward needs dY and x as the residual stream [T, {info.Hidden}] in one placement, got {dY} and {x}.");
        var twin = _core.GradientOf(norm);
        bool tokens = x.Placement == Placement.TokenShards;
        var d = Next(x.Placement, x.Features);
        for (int rank = 0; rank < P; rank++)
        {
            var dGamma = ReplicatedGradient(rank, twin.Scale[rank], tokens);
            MatrixView? dBeta = twin.Shift[rank] is { } shift ? ReplicatedGradient(rank, shift, tokens) : null;
            NormBackward(rank, x.ShardArray[rank], dY.ShardArray[rank], info.Kind, norm.Scale[rank], info.Epsilon, dGamma, dBeta, null);
            d.ShardArray[rank] = dY.ShardArray[rank];
        }
        return d;
    }

    private void PositionsBackward(ShardedTensor dStream, ShardedEmbedding positions)
    {
        ExpectTraining(nameof(PositionEmbeddingBackward));
        int d = positions.Info.Hidden;
        if ((dStream.Placement != Placement.Replicated && dStream.Placement != Placement.TokenShards) || dStream.Features != d)
            throw new InvalidOperationException($"Position embedding '{positions.Info.Name}': its backward needs the stream's gradient [T, {d}], got {dStream}.");
        var twin = _core.GradientOf(positions);
        bool tokens = dStream.Placement == Placement.TokenShards;
        for (int rank = 0; rank < P; rank++)
        {
            var target = ReplicatedGradient(rank, twin.Tables[rank], tokens);
            var rows = dStream.ShardArray[rank];
            if (rows.Rows == 0) continue;
            Devices[rank].ScatterAddRows(tokens ? TokenShardPositions(rank) : Positions, 0, rows, target);
        }
    }
}
