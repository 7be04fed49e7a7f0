using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The backward of a transformer block's steps, called in reverse plan order with the activations its forward kept.
// Projections: dX = dY·Wᵀ (a new tensor), dW += Xᵀ·dY into the device's own slice of the gradient twin. The residual
// stream's gradient (dStream) flows through each residual add unchanged; the norms' backwards add into it.
public sealed partial class ForwardPass
{
    /// <summary>The MLP residual add's backward: dStream passes through to both branches; the down bias's gradient is Σ_t dStream.</summary>
    public void MlpResidualBackward(ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) =>
        ResidualBackward(dStream.Tensor, block, Twin(block).Down);

    /// <summary>As above on each device's own tokens: the bias gradient is summed over the devices at the backward's end.</summary>
    public void MlpResidualBackward(ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) =>
        ResidualBackward(dStream.Tensor, block, Twin(block).Down);

    /// <summary>The attention residual add's backward: the output bias's gradient is Σ_t dStream.</summary>
    public void AttentionResidualBackward(ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) =>
        ResidualBackward(dStream.Tensor, block, Twin(block).Out);

    /// <summary>As above on each device's own tokens.</summary>
    public void AttentionResidualBackward(ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) =>
        ResidualBackward(dStream.Tensor, block, Twin(block).Out);

    /// <summary>Row-parallel down-projection: dHidden [T, ffn/P] = dY·W_rᵀ; dW_r += hiddenᵀ·dY.</summary>
    public ShardedTensor<ColumnShards> MlpDownBackward(ShardedTensor<Replicated> dY, ShardedTensor<ColumnShards> hidden, ShardedTransformerBlock block)
    {
        var info = block.Info;
        var d = RowProjectionBackward(dY.Tensor, hidden.Tensor, block, block.Down, Twin(block).Down, info.FfnHidden, nameof(MlpDownBackward));
        // The up-projection's backward needs the activation's input, which the hidden activation carries.
        d.PreActivation = hidden.Tensor.PreActivation;
        return new(d);
    }

    /// <summary>
    /// Column-parallel up-projection and its activation: dZ from the kept pre-activation (gated: [dgate | dup]), then
    /// dW_r += Xᵀ·dZ, the bias's gradient, and dX = dZ·W_rᵀ as partial sums (all-reduce them: Megatron's f).
    /// </summary>
    public ShardedTensor<PartialSums> MlpUpBackward(ShardedTensor<ColumnShards> dHidden, ShardedTensor<Replicated> x, ShardedTransformerBlock block)
    {
        ExpectTraining(nameof(MlpUpBackward));
        var info = block.Info;
        Expect(dHidden.Tensor, Placement.ColumnShards);
        ExpectStream(x.Tensor, Placement.Replicated, block);
        var z = dHidden.Tensor.PreActivation
            ?? throw new InvalidOperationException($"Block '{info.Name}': MlpUpBackward needs the MLP's pre-activation, kept by a training pass's MlpUp and passed on by MlpDownBackward.");
        var twin = Twin(block).Up;
        var dx = Next(Placement.Partial, info.Hidden);
        for (int rank = 0; rank < P; rank++)
        {
            var device = Devices[rank];
            var dh = dHidden.ShardArray[rank];
            MatrixView dz;
            if (info.Gated)
            {
                dz = Allocate(rank, Tokens, info.LocalUpWidth);
                device.GatedActivationBackward(z.ShardArray[rank], dh, dz, info.Activation);
            }
            else
            {
                // dz over dHidden: nothing reads dHidden afterwards.
                dz = dh;
                if (info.Activation != Activation.None) device.ActivationBackward(z.ShardArray[rank], dh, dz, info.Activation);
            }
            dx.ShardArray[rank] = ColumnProjectionBackward(rank, x.ShardArray[rank], dz, block.Up[rank], twin[rank], info.Hidden);
        }
        return new(dx);
    }

    /// <summary>The MLP norm's backward from its input x (statistics recomputed): γ's (and β's) gradient, dStream += dX.</summary>
    public void MlpNormBackward(ShardedTensor<Replicated> dY, ShardedTensor<Replicated> x, ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) =>
        BlockNormBackward(dY.Tensor, x.Tensor, dStream.Tensor, block, block.MlpNorm, Twin(block).MlpNorm);

    /// <summary>As above on each device's own tokens: γ's and β's gradients are summed over the devices at the backward's end.</summary>
    public void MlpNormBackward(ShardedTensor<TokenShards> dY, ShardedTensor<TokenShards> x, ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) =>
        BlockNormBackward(dY.Tensor, x.Tensor, dStream.Tensor, block, block.MlpNorm, Twin(block).MlpNorm);

    /// <summary>Row-parallel output projection: dContext [T, heads/P·dh] = dY·W_rᵀ; dW_r += contextᵀ·dY.</summary>
    public ShardedTensor<ColumnShards> AttentionOutputBackward(ShardedTensor<Replicated> dY, ShardedTensor<ColumnShards> context, ShardedTransformerBlock block) =>
        new(RowProjectionBackward(dY.Tensor, context.Tensor, block, block.Out, Twin(block).Out, block.Info.Heads * block.Info.HeadDim, nameof(AttentionOutputBackward)));

    /// <summary>
    /// Attention's backward from its input q|k|v as the forward left it (q and k rotated; softmax recomputed): dQ, dK,
    /// dV of this device's heads, then the rotary backward on the dq and dk columns (the forward's positions), so the
    /// result is the gradient of the projection's output.
    /// </summary>
    public ShardedTensor<HeadShards> AttentionBackward(ShardedTensor<ColumnShards> dContext, ShardedTensor<HeadShards> qkv, ShardedTransformerBlock block)
    {
        ExpectTraining(nameof(AttentionBackward));
        var info = block.Info;
        if (qkv.Placement != Placement.HeadShards || dContext.Placement != Placement.ColumnShards)
            throw new InvalidOperationException($"Block '{info.Name}': AttentionBackward needs dContext column shards and the kept q|k|v, got {dContext} and {qkv}.");
        var shape = _scratch.Attention(info.LocalHeads, info.LocalKvHeads, info.HeadDim, info.Shape.Causal, SequenceStarts, info.Shape.WindowOf(block.Index));
        int rotated = (info.LocalHeads + info.LocalKvHeads) * info.HeadDim;
        var d = Next(Placement.HeadShards, info.QkvWidth);
        for (int rank = 0; rank < P; rank++)
        {
            // Every column of every token is written: dQ per query head, dK and dV per key/value head.
            var shard = d.ShardArray[rank] = Allocate(rank, Tokens, info.LocalQkvWidth);
            var device = Devices[rank];
            device.AttentionBackward(qkv.ShardArray[rank], dContext.ShardArray[rank], shard, shape);
            if (info.Shape.Rotary)
                device.RotaryBackward(shard.Columns(0, rotated), info.LocalHeads + info.LocalKvHeads, info.HeadDim, Positions, info.Shape.RopeTheta);
        }
        return new(d);
    }

    /// <summary>Column-parallel q|k|v projection: dW_r += Xᵀ·dQkv, the q/k/v biases' gradients, dX = dQkv·W_rᵀ as partial sums.</summary>
    public ShardedTensor<PartialSums> QkvProjectionBackward(ShardedTensor<HeadShards> dQkv, ShardedTensor<Replicated> x, ShardedTransformerBlock block)
    {
        ExpectTraining(nameof(QkvProjectionBackward));
        var info = block.Info;
        if (dQkv.Placement != Placement.HeadShards)
            throw new InvalidOperationException($"Block '{info.Name}': QkvProjectionBackward needs dQkv by heads, got {dQkv}.");
        ExpectStream(x.Tensor, Placement.Replicated, block);
        var twin = Twin(block).Qkv;
        var dx = Next(Placement.Partial, info.Hidden);
        if (!SharesKvHeads(info))
        {
            for (int rank = 0; rank < P; rank++)
                dx.ShardArray[rank] = ColumnProjectionBackward(rank, x.ShardArray[rank], dQkv.ShardArray[rank], block.Qkv[rank], twin[rank], info.Hidden);
            return new(dx);
        }
        // Key/value heads replicated on several devices: their gradient is summed over each sharing group.
        var partials = _scratch.Views(P);
        for (int rank = 0; rank < P; rank++)
            dx.ShardArray[rank] = SharedKvProjectionBackward(rank, x.ShardArray[rank], dQkv.ShardArray[rank], block.Qkv[rank], twin[rank], info, partials);
        SumSharedKvGradients(info, partials, twin);
        return new(dx);
    }

    /// <summary>The attention norm's backward from the block's input x: γ's (and β's) gradient, dStream += dX.</summary>
    public void AttentionNormBackward(ShardedTensor<Replicated> dY, ShardedTensor<Replicated> x, ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) =>
        BlockNormBackward(dY.Tensor, x.Tensor, dStream.Tensor, block, block.AttentionNorm, Twin(block).AttentionNorm);

    /// <summary>As above on each device's own tokens.</summary>
    public void AttentionNormBackward(ShardedTensor<TokenShards> dY, ShardedTensor<TokenShards> x, ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) =>
        BlockNormBackward(dY.Tensor, x.Tensor, dStream.Tensor, block, block.AttentionNorm, Twin(block).AttentionNorm);

    // ---- Helpers ----------------------------------------------------------------------------------

    private void ResidualBackward(ShardedTensor dStream, ShardedTransformerBlock block, ShardedTransformerBlock.LinearShard[] twin)
    {
        ExpectTraining("The residual backward");
        ExpectResidual(dStream, block);
        bool tokens = dStream.Placement == Placement.TokenShards;
        for (int rank = 0; rank < P; rank++)
        {
            if (twin[rank].Bias is not { } dBias) continue;
            var target = ReplicatedGradient(rank, dBias, tokens);
            if (dStream.ShardArray[rank].Rows > 0) Devices[rank].BiasGradient(dStream.ShardArray[rank], target);
        }
    }

    /// <summary>A row-parallel projection's backward: dX_r = dY·W_rᵀ (column shards), dW_r += X_rᵀ·dY.</summary>
    private ShardedTensor RowProjectionBackward(ShardedTensor dY, ShardedTensor x, ShardedTransformerBlock block,
        ShardedTransformerBlock.LinearShard[] weights, ShardedTransformerBlock.LinearShard[] twin, int features, string step)
    {
        ExpectTraining(step);
        ExpectStream(dY, Placement.Replicated, block);
        Expect(x, Placement.ColumnShards);
        var d = Next(Placement.ColumnShards, features);
        for (int rank = 0; rank < P; rank++)
        {
            var device = Devices[rank];
            var w = weights[rank].Weight; // logically [in_r, hidden]
            var shard = d.ShardArray[rank] = Allocate(rank, Tokens, w.In);
            w.InputGradient(device, dY.ShardArray[rank], shard);
            twin[rank].Weight.AddWeightGradient(device, x.ShardArray[rank], dY.ShardArray[rank]);
        }
        return d;
    }

    /// <summary>One device's column-parallel projection backward: dW += Xᵀ·dZ, dBias += Σ_t dZ, returns dX = dZ·Wᵀ (a partial sum).</summary>
    private MatrixView ColumnProjectionBackward(int rank, MatrixView x, MatrixView dz, ShardedTransformerBlock.LinearShard weights,
        ShardedTransformerBlock.LinearShard twin, int hidden)
    {
        var device = Devices[rank];
        twin.Weight.AddWeightGradient(device, x, dz);
        if (twin.Bias is { } dBias) device.BiasGradient(dz, dBias);
        var dx = Allocate(rank, Tokens, hidden);
        weights.Weight.InputGradient(device, dz, dx);
        return dx;
    }

    private void BlockNormBackward(ShardedTensor dY, ShardedTensor x, ShardedTensor dStream, ShardedTransformerBlock block,
        ShardedTransformerBlock.NormShard[] norm, ShardedTransformerBlock.NormShard[] twin)
    {
        ExpectTraining("The norm backward");
        ExpectResidual(dY, block);
        ExpectResidual(x, block);
        ExpectResidual(dStream, block);
        if (dY.Placement != x.Placement || dStream.Placement != x.Placement)
            throw new InvalidOperationException($"Block '{block.Info.Name}': a norm's backward needs dY, x and dStream in one placement, got {dY}, {x} and {dStream}.");
        var shape = block.Info.Shape;
        bool tokens = x.Placement == Placement.TokenShards;
        for (int rank = 0; rank < P; rank++)
        {
            var dGamma = ReplicatedGradient(rank, twin[rank].Scale, tokens);
            MatrixView? dBeta = twin[rank].Shift is { } shift ? ReplicatedGradient(rank, shift, tokens) : null;
            NormBackward(rank, x.ShardArray[rank], dY.ShardArray[rank], shape.Norm, norm[rank].Scale, shape.Epsilon, dGamma, dBeta, dStream.ShardArray[rank]);
        }
    }

    /// <summary>
    /// One device's norm backward: dX written over dY (the kernel allows it; dY has no other reader), γ's and β's
    /// gradients accumulated, then dX added into <paramref name="dStream"/> when given.
    /// </summary>
    private void NormBackward(int rank, MatrixView x, MatrixView dY, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dGamma, MatrixView? dBeta, MatrixView? dStream)
    {
        if (x.Rows == 0) return;
        var device = Devices[rank];
        device.NormalizeBackward(x, dY, kind, gamma, epsilon, dY, dGamma, kind == NormKind.LayerNorm ? dBeta : null);
        if (dStream is { } s) device.Add(dY, s);
    }

    private static void ExpectResidual(ShardedTensor x, ShardedTransformerBlock block)
    {
        if ((x.Placement != Placement.Replicated && x.Placement != Placement.TokenShards) || x.Features != block.Info.Hidden)
            throw new InvalidOperationException($"Block '{block.Info.Name}' needs the residual stream's gradient [T, {block.Info.Hidden}], got {x}.");
    }
}
