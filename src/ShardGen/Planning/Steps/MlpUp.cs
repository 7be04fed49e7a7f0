using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The MLP up-projection, column-parallel: replicated stream → hidden column shards, bias and activation fused.</summary>
internal sealed class MlpUp : BlockStep
{
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override int BlockHalf => 2;
    public override string Method => nameof(IStepMethods.MlpUp);
    public override StepBackward Backward { get; } =
        new(BackwardOp.AllReduce, "the activation's derivative, then dX = dH·Wᵀ per device (partial sums of dX) and dW shard = Xᵀ·dH, local",
            nameof(IBackwardStepMethods.MlpUpBackward), BackwardCall.Gradient) { GivesPartialSums = true };

    // A gated MLP projects to gate and up: twice the columns.
    public override double Flops(StepSizes s) =>
        s.Layer is { Block: { } b } l ? 2.0 * s.Tokens * l.InFeatures * b.FfnHidden * (b.Mlp == MlpKind.Gated ? 2 : 1) : 0;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        bool bias = b.Layer.HasBias;
        if (b.Spec.Mlp == MlpKind.Gated)
        {
            string both = c.Text.Fixed && b.Spec.FfnHidden > 0 ? PlanText.N(2L * (b.Spec.FfnHidden / c.Text.Devices)) : $"2·{b.FfnShard}";
            yield return $"{b.Name} MLP gate|up (column-parallel, gated): [T, {b.D}] · W [{b.D}, {both}] (this device's gate columns, then the same up columns) " +
                $"→ [T, {both}]{(bias ? ", bias fused" : "")}; then {PlanText.ActivationName(b.Layer.Activation)}(gate) ⊙ up → [T, {b.FfnShard}] per device.";
            yield return "No collective: the MLP down-projection takes these column shards as they are.";
            yield break;
        }
        yield return $"{b.Name} MLP up (column-parallel): [T, {b.D}] · W [{b.D}, {b.FfnShard}] → [T, {b.FfnShard}] per device; " +
            $"{(bias ? "bias + " : "")}{PlanText.ActivationName(b.Layer.Activation)} fused{(bias ? "" : " (no bias)")}.";
        yield return "No collective: the MLP down-projection takes these column shards as they are.";
    }
}
