namespace ShardGen.Planning;

/// <summary>
/// The methods a generated Forward calls, one per <see cref="PlanStepKind"/>. The runtime's ForwardPass implements it;
/// the step catalog names each method with <c>nameof</c> on this interface, so a step whose method is missing or
/// renamed fails to compile in the generator and the runtime alike, never in a user's build.
/// </summary>
/// <typeparam name="TTensor">A sharded activation.</typeparam>
/// <typeparam name="TLinear">A sharded linear layer.</typeparam>
/// <typeparam name="TBlock">A sharded transformer block.</typeparam>
/// <typeparam name="THost">The host matrix Download returns.</typeparam>
#if SHARDGEN_RUNTIME
public
#endif
interface IForwardSteps<TTensor, TLinear, TBlock, THost>
{
    TTensor UploadReplicated();
    TTensor UploadColumnShards();
    TTensor UploadBlocks();
    TTensor UploadTokenShards();

    TTensor ColumnParallel(TTensor x, TLinear layer);
    TTensor RowParallel(TTensor x, TLinear layer);
    TTensor Summa2D(TTensor x, TLinear layer);
    void BiasActivation(TTensor y, TLinear layer);

    TTensor AttentionNorm(TTensor x, TBlock block);
    TTensor QkvProjection(TTensor x, TBlock block);
    TTensor Attention(TTensor qkv, TBlock block);
    TTensor AttentionOutput(TTensor context, TBlock block);
    void AttentionResidual(TTensor y, TTensor residual, TBlock block);
    TTensor MlpNorm(TTensor x, TBlock block);
    TTensor MlpUp(TTensor x, TBlock block);
    TTensor MlpDown(TTensor hidden, TBlock block);
    void MlpResidual(TTensor y, TTensor residual, TBlock block);

    TTensor AllReduce(TTensor partial);
    TTensor ReduceScatter(TTensor partial);
    TTensor AllGather(TTensor shards);
    TTensor ColumnShardsToBlocks(TTensor shards);
    TTensor BlocksToColumnShards(TTensor blocks);
    TTensor BlocksToReplicated(TTensor blocks);
    TTensor AllGatherTokens(TTensor shards);
    TTensor ReduceScatterTokens(TTensor partial);
    TTensor SliceColumns(TTensor full);
    TTensor SliceBlocks(TTensor full);
    TTensor SliceTokens(TTensor full);

    THost Download(TTensor y);
}
