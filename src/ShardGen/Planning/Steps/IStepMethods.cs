namespace ShardGen.Planning.Steps;

/// <summary>
/// <see cref="IForwardSteps{TReplicated, TColumnShards, TTokenShards, THeadShards, TPartialSums, TBlocks, TLinear, TBlock, TEmbedding, TNorm, THost}"/>
/// closed over <c>object</c>: what the catalog's <c>nameof(IStepMethods.X)</c> names, written once instead of in every step.
/// </summary>
internal interface IStepMethods : IForwardSteps<object, object, object, object, object, object, object, object, object, object, object>
{
}
