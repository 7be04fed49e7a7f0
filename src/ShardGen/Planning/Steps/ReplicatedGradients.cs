namespace ShardGen.Planning.Steps;

/// <summary>
/// A replicated parameter read by a step on token blocks (sequence parallelism): each device's gradient covers its own
/// tokens only, so the backward all-reduces it, one ring all-reduce per parameter at the backward's end.
/// </summary>
internal static class ReplicatedGradients
{
    private static bool OnTokenBlocks(PlanStep step) => step.From == Placement.TokenShards;

    /// <summary>Bytes of <paramref name="parameters"/> all-reduces of <paramref name="elements"/> each, all devices together.</summary>
    public static long TotalBytes(StepSizes s, int parameters, long elements) =>
        OnTokenBlocks(s.Step) ? parameters * PlanCost.RingAllReduce(s.Devices, elements) : 0;

    public static int Calls(CollectiveOp op, StepSizes s, int parameters) =>
        op == CollectiveOp.AllReduce && OnTokenBlocks(s.Step) ? parameters : 0;

    /// <summary>The words: "Sequence parallel: the partial gradients of the scale [64] are all-reduced …"; null without it.</summary>
    public static string? Words(StepContext c, int parameters, string what)
    {
        if (!OnTokenBlocks(c.Step) || parameters == 0) return null;
        string count = parameters == 1 ? "one all-reduce" : $"{PlanText.N(parameters)} all-reduces";
        return $"Sequence parallel: each device's gradient of the replicated {what} covers its own tokens only: {count} at the backward's end, " +
            "2(P−1)/P of the parameter's bytes per device each.";
    }

    /// <summary>A norm's parameters: the scale, and LayerNorm's shift.</summary>
    public static int NormParameters(NormKind kind) => kind == NormKind.LayerNorm ? 2 : 1;
}
