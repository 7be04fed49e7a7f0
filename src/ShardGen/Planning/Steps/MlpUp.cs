using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The MLP up-projection, column-parallel: replicated stream → hidden column shards, bias and activation fused.</summary>
internal sealed class MlpUp : BlockStep
{
    public override PlanStepKind Kind => PlanStepKind.MlpUp;
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override int BlockHalf => 2;
    public override string Method => nameof(IStepMethods.MlpUp);
    public override StepBackward Backward { get; } =
        new(BackwardOp.AllReduce, "dX = dH·Wᵀ per device, then all-reduce of dX (Megatron's f); dW local");

    public override double Flops(StepSizes s) =>
        s.Layer is { Block: { } b } l ? 2.0 * s.Tokens * l.InFeatures * b.FfnHidden : 0;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        bool bias = b.Layer.HasBias;
        yield return $"{b.Name} MLP up (column-parallel): [T, {b.D}] · W [{b.D}, {b.FfnShard}] → [T, {b.FfnShard}] per device; " +
            $"{(bias ? "bias + " : "")}{PlanText.ActivationName(b.Layer.Activation)} fused{(bias ? "" : " (no bias)")}.";
        yield return "No collective: the MLP down-projection takes these column shards as they are.";
    }
}
