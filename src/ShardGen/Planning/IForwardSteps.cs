namespace ShardGen.Planning;

/// <summary>
/// The methods a generated Forward calls, one name per step kind (a class in Planning/Steps), except where an axis-parameterised
/// kind's types read the same placement and write different ones (reduce-scatter onto features or tokens, slices):
/// C# cannot overload on the result, so those have one name per target. The runtime's ForwardPass implements it;
/// the step catalog names each method with <c>nameof</c> on this interface, so a step whose method is missing or
/// renamed fails to compile in the generator and the runtime alike, never in a user's build.
/// Each activation's placement is its own type parameter, so the runtime gives every placement its own C# type and a
/// generated Forward that skips a transition (partial sums into a column-parallel launch, column shards into a
/// replicated consumer) does not compile. A step that reads several placements has one overload per placement
/// (AllGather along features or tokens, Download, a block's norms).
/// </summary>
/// <typeparam name="TReplicated">An activation every device holds whole.</typeparam>
/// <typeparam name="TColumnShards">An activation split along its features (Megatron's column-parallel output).</typeparam>
/// <typeparam name="TTokenShards">An activation split along its tokens (sequence parallelism).</typeparam>
/// <typeparam name="THeadShards">Each device's fused q|k|v of its own attention heads.</typeparam>
/// <typeparam name="TPartialSums">Per-device partial sums of the whole activation.</typeparam>
/// <typeparam name="TBlocks">2D blocks of the q×q grid.</typeparam>
/// <typeparam name="TLinear">A sharded linear layer.</typeparam>
/// <typeparam name="TBlock">A sharded transformer block.</typeparam>
/// <typeparam name="TEmbedding">A sharded embedding table (token or position).</typeparam>
/// <typeparam name="TNorm">A standalone norm (the final norm).</typeparam>
/// <typeparam name="THost">The host matrix Download returns.</typeparam>
#if SHARDGEN_RUNTIME
public
#endif
interface IForwardSteps<TReplicated, TColumnShards, TTokenShards, THeadShards, TPartialSums, TBlocks, TLinear, TBlock, TEmbedding, TNorm, THost>
{
    TReplicated UploadReplicated();
    TColumnShards UploadColumnShards();
    TBlocks UploadBlocks();
    TTokenShards UploadTokenShards();

    TPartialSums TokenEmbedding(TEmbedding embedding);
    void PositionEmbedding(TReplicated x, TEmbedding positions);
    void PositionEmbedding(TTokenShards x, TEmbedding positions);
    TReplicated FinalNorm(TReplicated x, TNorm norm);
    TTokenShards FinalNorm(TTokenShards x, TNorm norm);
    TColumnShards LmHead(TReplicated x, TLinear head);

    TColumnShards ColumnParallel(TReplicated x, TLinear layer);
    TPartialSums RowParallel(TColumnShards x, TLinear layer);
    TBlocks Summa2D(TBlocks x, TLinear layer);
    void BiasActivation(TReplicated y, TLinear layer);
    void BiasActivation(TColumnShards y, TLinear layer);
    void BiasActivation(TTokenShards y, TLinear layer);

    TReplicated AttentionNorm(TReplicated x, TBlock block);
    TTokenShards AttentionNorm(TTokenShards x, TBlock block);
    THeadShards QkvProjection(TReplicated x, TBlock block);
    TColumnShards Attention(THeadShards qkv, TBlock block);
    TPartialSums AttentionOutput(TColumnShards context, TBlock block);
    void AttentionResidual(TReplicated y, TReplicated residual, TBlock block);
    void AttentionResidual(TTokenShards y, TTokenShards residual, TBlock block);
    TReplicated MlpNorm(TReplicated x, TBlock block);
    TTokenShards MlpNorm(TTokenShards x, TBlock block);
    TColumnShards MlpUp(TReplicated x, TBlock block);
    TPartialSums MlpDown(TColumnShards hidden, TBlock block);
    void MlpResidual(TReplicated y, TReplicated residual, TBlock block);
    void MlpResidual(TTokenShards y, TTokenShards residual, TBlock block);

    TReplicated AllReduce(TPartialSums partial);
    TColumnShards ReduceScatter(TPartialSums partial);
    TReplicated AllGather(TColumnShards shards);
    TReplicated AllGather(TTokenShards shards);
    TBlocks ColumnShardsToBlocks(TColumnShards shards);
    TColumnShards BlocksToColumnShards(TBlocks blocks);
    TReplicated BlocksToReplicated(TBlocks blocks);
    TTokenShards ReduceScatterTokens(TPartialSums partial);
    TColumnShards SliceColumns(TReplicated full);
    TBlocks SliceBlocks(TReplicated full);
    TTokenShards SliceTokens(TReplicated full);

    THost Download(TReplicated y);
    THost Download(TColumnShards y);
    THost Download(TTokenShards y);
    THost Download(TBlocks y);
}
