namespace ShardGen.Planning.Steps;

/// <summary>
/// <see cref="IBackwardSteps{TReplicated, TColumnShards, TTokenShards, THeadShards, TPartialSums, TBlocks, TLinear, TBlock, TEmbedding, TNorm, THost}"/>
/// closed over <c>object</c>: what the catalog's <c>nameof(IBackwardStepMethods.X)</c> names (as <see cref="IStepMethods"/> for the forward).
/// </summary>
internal interface IBackwardStepMethods : IBackwardSteps<object, object, object, object, object, object, object, object, object, object, object>
{
}
