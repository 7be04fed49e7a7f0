namespace ShardGen.Planning;

/// <summary>
/// The methods a generated ForwardBackward calls after the forward steps, in reverse plan order: the loss, then each
/// forward step's backward (its catalog entry's <c>BackwardMethod</c>). Same type parameters as
/// <see cref="IForwardSteps{TReplicated, TColumnShards, TTokenShards, THeadShards, TPartialSums, TBlocks, TLinear, TBlock, TEmbedding, TNorm, THost}"/>:
/// a gradient has the placement its conjugate gives it. The gradient of a replicated activation read by a
/// column-parallel launch comes back as partial sums (all-reduce it: Megatron's f), the gradient of partial sums is
/// the replicated gradient of their reduction (identity: Megatron's g); under sequence parallelism the gradient of an
/// all-gather is a reduce-scatter and the other way round. Those conjugates are the forward methods (AllReduce,
/// ReduceScatterTokens, AllGather), so they are not repeated here. Parameter gradients accumulate into the model's
/// gradient twins; activation gradients are new tensors, except the residual stream's, which the norms' backwards
/// add into (<c>dStream</c>).
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
interface IBackwardSteps<TReplicated, TColumnShards, TTokenShards, THeadShards, TPartialSums, TBlocks, TLinear, TBlock, TEmbedding, TNorm, THost>
{
    /// <summary>Vocab-parallel cross-entropy of the logit shards against the pass's targets: returns dLogits (the pass keeps the loss).</summary>
    TColumnShards CrossEntropy(TColumnShards logits);

    TPartialSums LmHeadBackward(TColumnShards dLogits, TReplicated x, TLinear head);
    TReplicated FinalNormBackward(TReplicated dY, TReplicated x, TNorm norm);
    TTokenShards FinalNormBackward(TTokenShards dY, TTokenShards x, TNorm norm);

    void MlpResidualBackward(TReplicated dStream, TBlock block);
    void MlpResidualBackward(TTokenShards dStream, TBlock block);
    TColumnShards MlpDownBackward(TReplicated dY, TColumnShards hidden, TBlock block);
    TPartialSums MlpUpBackward(TColumnShards dHidden, TReplicated x, TBlock block);
    void MlpNormBackward(TReplicated dY, TReplicated x, TReplicated dStream, TBlock block);
    void MlpNormBackward(TTokenShards dY, TTokenShards x, TTokenShards dStream, TBlock block);
    void AttentionResidualBackward(TReplicated dStream, TBlock block);
    void AttentionResidualBackward(TTokenShards dStream, TBlock block);
    TColumnShards AttentionOutputBackward(TReplicated dY, TColumnShards context, TBlock block);
    THeadShards AttentionBackward(TColumnShards dContext, THeadShards qkv, TBlock block);
    TPartialSums QkvProjectionBackward(THeadShards dQkv, TReplicated x, TBlock block);
    void AttentionNormBackward(TReplicated dY, TReplicated x, TReplicated dStream, TBlock block);
    void AttentionNormBackward(TTokenShards dY, TTokenShards x, TTokenShards dStream, TBlock block);

    // A float model's Backward: dLoss/dY uploaded as the output is laid out (the conjugate of Download).
    TReplicated UploadGradient(TReplicated y);
    TColumnShards UploadGradient(TColumnShards y);
    TTokenShards UploadGradient(TTokenShards y);
    TBlocks UploadGradient(TBlocks y);
    TPartialSums ColumnParallelBackward(TColumnShards dY, TReplicated x, TLinear layer);
    TColumnShards RowParallelBackward(TReplicated dY, TColumnShards x, TLinear layer);
    void BiasActivationBackward(TReplicated dY, TLinear layer);
    void BiasActivationBackward(TColumnShards dY, TLinear layer);
    void BiasActivationBackward(TTokenShards dY, TLinear layer);
    TBlocks Summa2DBackward(TBlocks dY, TBlocks x, TLinear layer);
    // The conjugate of BlocksToReplicated: the per-device partial gradients' sum, cut into the grid's blocks.
    TBlocks ReduceScatterBlocks(TPartialSums partial);
    // A generated backward ends with it under sequence parallelism (a float model's Backward before the download, a
    // language model's ForwardBackward before Loss): the replicated parameters' per-device partial gradients
    // all-reduced into their twins.
    void SumReplicatedGradients();

    void PositionEmbeddingBackward(TReplicated dStream, TEmbedding positions);
    void PositionEmbeddingBackward(TTokenShards dStream, TEmbedding positions);
    void TokenEmbeddingBackward(TReplicated dStream, TEmbedding embedding);
}
