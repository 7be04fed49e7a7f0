using ShardGen.Planning.Steps;

namespace ShardGen.Planning;

/// <summary>
/// One step of a planned forward pass: its kind (<see cref="Type"/>, the catalog's instance in Planning/Steps),
/// the placements it reads and writes, <see cref="Features"/> the width of the activation it reads, and
/// <see cref="LayerIndex"/> the layer it belongs to (launches, epilogues) or −1.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
sealed record PlanStep
{
    internal PlanStep(StepType type, int layerIndex, int features, Placement from, Placement to)
    {
        Type = type;
        LayerIndex = layerIndex;
        Features = features;
        From = from;
        To = to;
    }

    /// <summary>The step's kind: everything about it (method, bytes, words, backward) is on this catalog type.</summary>
    internal StepType Type { get; }

    /// <summary>The step kind's name: "MlpUp", "AllGather", …</summary>
    public string Kind => Type.Name;

    public int LayerIndex { get; }

    public int Features { get; }

    /// <summary>The placement the step reads.</summary>
    public Placement From { get; }

    /// <summary>The placement the step leaves its output in.</summary>
    public Placement To { get; }

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
    public bool IsInPlace => Type.IsInPlace;

    /// <summary>True for steps that send data between devices.</summary>
    public bool IsCollective => Type.IsCollective;
}
