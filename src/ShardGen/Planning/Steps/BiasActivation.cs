using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>A row-parallel layer's bias and activation, once its partial sums are reduced; in place.</summary>
internal sealed class BiasActivation : StepType
{
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.BiasActivation);
    public override bool AcceptsAnyInput => true; // whichever placement the reduction left
    public override StepCall Call => StepCall.LinearInPlace;
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "the activation's derivative, elementwise; dBias = the gradient summed over tokens",
        nameof(IBackwardStepMethods.BiasActivationBackward), BackwardCall.Parameters);

    /// <summary>
    /// After a reduce-scatter onto column shards, the bias's gradient slices are all-reduced as one [1, F] vector; after
    /// one onto token shards (sequence parallel), each device's sum over its own tokens is.
    /// </summary>
    private static bool GathersBiasGradient(PlanStep step, LayerSpec? layer) =>
        (step.To == Placement.ColumnShards || step.To == Placement.TokenShards) && layer is { HasBias: true };

    public override long BackwardTotalBytes(StepSizes s) =>
        GathersBiasGradient(s.Step, s.Layer) ? PlanCost.RingAllReduce(s.Devices, s.Step.Features) : 0;

    public override int BackwardCalls(CollectiveOp op, StepSizes s) =>
        op == CollectiveOp.AllReduce && GathersBiasGradient(s.Step, s.Layer) ? 1 : 0;

    public override string? BackwardCollectives(StepContext c) => !GathersBiasGradient(c.Step, c.Layer) ? null
        : c.Step.To == Placement.TokenShards
        ? $"Each device's bias gradient over its own tokens, all-reduced as a [1, {c.FText}] vector so every device holds the sum over all tokens: 2(P−1)/P · {c.FText}·4 B per device."
        : $"Each device's slice of the bias's gradient, all-reduced as a [1, {c.FText}] vector so every device holds the whole: 2(P−1)/P · {c.FText}·4 B per device.";

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string activation = layer.Activation == Activation.None ? "" : PlanText.ActivationName(layer.Activation);
        if (!layer.HasBias)
            yield return $"{layer.Name}: {activation} on the reduced sums (never on the partial sums).";
        else if (c.Step.From == Placement.ColumnShards)
            yield return $"{layer.Name}: bias [{c.FText}] added once, after the reduction: each device adds its slice [{c.Text.OverP(c.F)}]{(activation.Length > 0 ? $"; then {activation}" : "")}.";
        else
            yield return $"{layer.Name}: bias [{c.FText}] added once, after the reduction{(activation.Length > 0 ? $"; then {activation}" : "")}.";
    }
}
