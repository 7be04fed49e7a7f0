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
    /// <summary>For residual adds: the index of the step whose output is the residual stream; else −1.</summary>
    public int ResidualStep { get; init; } = -1;

    /// <summary>True for steps that update their input tensor instead of producing a new one.</summary>
    public bool IsInPlace => Steps.StepCatalog.Of(this).IsInPlace;

    /// <summary>True for steps that send data between devices.</summary>
    public bool IsCollective => Steps.StepCatalog.Of(this).IsCollective;
}
