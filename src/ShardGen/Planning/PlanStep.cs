namespace ShardGen.Planning;

/// <summary>
/// One step of a planned forward pass. <see cref="Features"/> is the width of the activation the step
/// reads; <see cref="LayerIndex"/> is the layer it belongs to (launches, epilogues) or −1.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
sealed record PlanStep(PlanStepKind Kind, int LayerIndex, int Features, TensorLayout From, TensorLayout To)
{
    /// <summary>True for steps that send data between devices.</summary>
    public bool IsCollective => Kind is PlanStepKind.AllReduce or PlanStepKind.ReduceScatter or PlanStepKind.AllGather
        or PlanStepKind.ColumnShardsToBlocks or PlanStepKind.BlocksToColumnShards or PlanStepKind.BlocksToReplicated;
}
