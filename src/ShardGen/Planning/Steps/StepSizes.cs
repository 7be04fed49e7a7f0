namespace ShardGen.Planning.Steps;

/// <summary>The sizes a step's bytes, calls and FLOPs depend on.</summary>
internal readonly struct StepSizes
{
    public StepSizes(PlanStep step, LayerSpec? layer, int devices, int tokens)
    {
        Step = step;
        Layer = layer;
        Devices = devices;
        Tokens = tokens;
    }

    public PlanStep Step { get; }

    /// <summary>The step's layer (launches and epilogues), or null.</summary>
    public LayerSpec? Layer { get; }

    public int Devices { get; }

    public int Tokens { get; }

    /// <summary>Side of the square grid, 0 when the device count is not square.</summary>
    public int Q => PlanCost.GridSide(Devices);

    /// <summary>Elements of the activation the step reads: tokens × features.</summary>
    public long Elements => (long)Tokens * Step.Features;

    /// <summary>Bytes of <paramref name="elements"/> float32 values.</summary>
    public static long Bytes(long elements) => elements * PlanCost.BytesPerElement;
}
