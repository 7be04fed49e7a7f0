using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Replicated X · W column shard → Y column shard, bias and activation fused.</summary>
internal sealed class ColumnParallel : LaunchStep
{
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override string Method => nameof(IStepMethods.ColumnParallel);
    public override StepBackward Backward { get; } =
        new(BackwardOp.AllReduce, "the activation's derivative from the kept pre-activation, then dX = dY·Wᵀ per device (partial sums), dW = Xᵀ·dY and dBias = Σ_t dY local",
            nameof(IBackwardStepMethods.ColumnParallelBackward), BackwardCall.Gradient) { GivesPartialSums = true };

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string wText = layer.WeightLayout == WeightLayout.OutIn
            ? $"Wᵀ (W [{c.Text.OverP(layer.OutFeatures)}, {PlanText.N(layer.InFeatures)}])"
            : $"W [{PlanText.N(layer.InFeatures)}, {c.Text.OverP(layer.OutFeatures)}]";
        yield return $"{layer.Name} (column-parallel): {c.InputName}[T, {PlanText.N(layer.InFeatures)}] · {wText} → [T, {c.Text.OverP(layer.OutFeatures)}] per device; {PlanText.FusedEpilogue(layer)}.";
        if (c.NextIsLaunch && c.Consumer is { } consumer)
            yield return $"No collective: {consumer.Name} takes these column shards as they are.";
    }
}
