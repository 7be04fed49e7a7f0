using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// The LM head, column-parallel over the vocabulary: device r computes the logits of its own vocabulary range, the
/// same rows its embedding shard holds (uneven when the vocabulary does not divide); the host gathers them.
/// </summary>
internal sealed class LmHead : LaunchStep
{
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override string Method => nameof(IStepMethods.LmHead);
    public override StepBackward Backward { get; } =
        new(BackwardOp.AllReduce, "dX = dLogits shard·W shardᵀ per device (partial sums of dX), dW shard = Xᵀ·dLogits shard, local",
            nameof(IBackwardStepMethods.LmHeadBackward), BackwardCall.Gradient) { GivesPartialSums = true };

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string d = PlanText.Size(layer.InFeatures, "hidden");
        string shard = c.Text.VocabShard(layer.OutFeatures);
        string weight = layer.Tied
            ? $"the embedding's own rows [{shard}, {d}], transposed (tied: no second copy)"
            : $"W [{d}, {shard}]";
        yield return $"{layer.Name} (LM head, column-parallel over the vocabulary): [T, {d}] · {weight} → logits [T, {shard}] per device, " +
            $"its own vocabulary range; {(layer.HasBias ? "bias fused" : "no bias")}.";
        yield return "No collective: the host reads each device's logits shard.";
    }
}
