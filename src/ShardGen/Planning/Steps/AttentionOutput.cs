using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The attention output projection, row-parallel: context column shards → partial sums.</summary>
internal sealed class AttentionOutput : BlockStep
{
    public override Placement Input => Placement.Shard(ShardAxis.Features);
    public override Placement Output => Placement.Partial;
    public override int BlockHalf => 1;
    public override string Method => nameof(IStepMethods.AttentionOutput);
    public override StepBackward Backward { get; } = new(BackwardOp.TransposedProducts, "dContext shard = dY·W shardᵀ and dW shard = context shardᵀ·dY, local",
        nameof(IBackwardStepMethods.AttentionOutputBackward), BackwardCall.Gradient);

    public override double Flops(StepSizes s) =>
        s.Layer is { Block: { } b } l ? 2.0 * s.Tokens * b.Heads * b.HeadDim(l.InFeatures) * l.OutFeatures : 0;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        string local = c.Text.LocalHeadsWidth(b.Spec, b.Layer.InFeatures);
        yield return $"{b.Name} output projection (row-parallel): [T, {local}] · W [{local}, {b.D}] → partial sums [T, {b.D}] per device.";
    }
}
