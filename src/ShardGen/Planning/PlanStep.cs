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

    /// <summary>
    /// For a step of a transformer stack's block: the stack's layer index. The step is written once inside the stack's
    /// loop and runs once per block (its bytes and FLOPs count Layers times); −1 outside a stack.
    /// </summary>
    public int Stack { get; init; } = -1;

    /// <summary>True when the step runs inside a transformer stack's loop over its blocks.</summary>
    public bool InStack => Stack >= 0;

    /// <summary>True for steps that update their input tensor instead of producing a new one.</summary>
    public bool IsInPlace => Steps.StepCatalog.Of(this).IsInPlace;

    /// <summary>True for steps that send data between devices.</summary>
    public bool IsCollective => Steps.StepCatalog.Of(this).IsCollective;
}
