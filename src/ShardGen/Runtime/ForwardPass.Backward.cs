using System;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// CONTRACT STUBS (helper i14-backward replaces every body; none may remain when merged).
public sealed partial class ForwardPass
{
    /// <summary>True between BeginTraining and the pass's end: activations are kept for the backward.</summary>
    internal bool Training { get; private set; }

    /// <summary>Targets of a training pass, one per token.</summary>
    internal int[] Targets { get; private set; } = Array.Empty<int>();

    /// <summary>d(loss)/d(loss_t) for every token t: 1/tokens for a mean.</summary>
    internal float GradientScale { get; private set; }

    /// <summary>Makes this pass a training pass (called by ShardedModelCore.BeginTraining after Begin).</summary>
    internal void StartTraining(int[] targets, float gradientScale)
    {
        Training = true;
        Targets = targets;
        GradientScale = gradientScale;
    }

    /// <summary>Waits for the devices and returns Σ_t loss_t of this pass (after CrossEntropy).</summary>
    public double Loss() => throw new NotImplementedException();

    public ShardedTensor<ColumnShards> CrossEntropy(ShardedTensor<ColumnShards> logits) => throw new NotImplementedException();
    public ShardedTensor<PartialSums> LmHeadBackward(ShardedTensor<ColumnShards> dLogits, ShardedTensor<Replicated> x, ShardedLinear head) => throw new NotImplementedException();
    public ShardedTensor<Replicated> FinalNormBackward(ShardedTensor<Replicated> dY, ShardedTensor<Replicated> x, ShardedNorm norm) => throw new NotImplementedException();
    public ShardedTensor<TokenShards> FinalNormBackward(ShardedTensor<TokenShards> dY, ShardedTensor<TokenShards> x, ShardedNorm norm) => throw new NotImplementedException();
    public void MlpResidualBackward(ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void MlpResidualBackward(ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public ShardedTensor<ColumnShards> MlpDownBackward(ShardedTensor<Replicated> dY, ShardedTensor<ColumnShards> hidden, ShardedTransformerBlock block) => throw new NotImplementedException();
    public ShardedTensor<PartialSums> MlpUpBackward(ShardedTensor<ColumnShards> dHidden, ShardedTensor<Replicated> x, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void MlpNormBackward(ShardedTensor<Replicated> dY, ShardedTensor<Replicated> x, ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void MlpNormBackward(ShardedTensor<TokenShards> dY, ShardedTensor<TokenShards> x, ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void AttentionResidualBackward(ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void AttentionResidualBackward(ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public ShardedTensor<ColumnShards> AttentionOutputBackward(ShardedTensor<Replicated> dY, ShardedTensor<ColumnShards> context, ShardedTransformerBlock block) => throw new NotImplementedException();
    public ShardedTensor<HeadShards> AttentionBackward(ShardedTensor<ColumnShards> dContext, ShardedTensor<HeadShards> qkv, ShardedTransformerBlock block) => throw new NotImplementedException();
    public ShardedTensor<PartialSums> QkvProjectionBackward(ShardedTensor<HeadShards> dQkv, ShardedTensor<Replicated> x, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void AttentionNormBackward(ShardedTensor<Replicated> dY, ShardedTensor<Replicated> x, ShardedTensor<Replicated> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void AttentionNormBackward(ShardedTensor<TokenShards> dY, ShardedTensor<TokenShards> x, ShardedTensor<TokenShards> dStream, ShardedTransformerBlock block) => throw new NotImplementedException();
    public void PositionEmbeddingBackward(ShardedTensor<Replicated> dStream, ShardedEmbedding positions) => throw new NotImplementedException();
    public void PositionEmbeddingBackward(ShardedTensor<TokenShards> dStream, ShardedEmbedding positions) => throw new NotImplementedException();
    public void TokenEmbeddingBackward(ShardedTensor<Replicated> dStream, ShardedEmbedding embedding) => throw new NotImplementedException();
}
