using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>X column shard · W row shard → partial sums of the whole Y; bias and activation wait for the reduction.</summary>
internal sealed class RowParallel : LaunchStep
{
    public override Placement Input => Placement.Shard(ShardAxis.Features);
    public override Placement Output => Placement.Partial;
    public override string Method => nameof(IStepMethods.RowParallel);
    public override StepBackward Backward { get; } =
        new(BackwardOp.TransposedProducts, "dX shard = dY·W shardᵀ and dW shard = X shardᵀ·dY, local: the all-reduce after it has the identity as backward",
            nameof(IBackwardStepMethods.RowParallelBackward), BackwardCall.Gradient);

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string wText = layer.WeightLayout == WeightLayout.OutIn
            ? $"Wᵀ (W [{PlanText.N(layer.OutFeatures)}, {c.Text.OverP(layer.InFeatures)}])"
            : $"W [{c.Text.OverP(layer.InFeatures)}, {PlanText.N(layer.OutFeatures)}]";
        yield return $"{layer.Name} (row-parallel): {c.InputName}[T, {c.Text.OverP(layer.InFeatures)}] · {wText} → partial sums [T, {PlanText.N(layer.OutFeatures)}] per device.";
    }
}
