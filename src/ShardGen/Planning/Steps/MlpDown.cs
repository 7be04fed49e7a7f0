using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The MLP down-projection, row-parallel: hidden column shards → partial sums.</summary>
internal sealed class MlpDown : BlockStep
{
    public override Placement Input => Placement.Shard(ShardAxis.Features);
    public override Placement Output => Placement.Partial;
    public override int BlockHalf => 2;
    public override string Method => nameof(IStepMethods.MlpDown);
    public override StepBackward Backward { get; } = new(BackwardOp.TransposedProducts, "dH shard = dY·W shardᵀ and dW shard = H shardᵀ·dY, local",
        nameof(IBackwardStepMethods.MlpDownBackward), BackwardCall.Gradient);

    public override double Flops(StepSizes s) =>
        s.Layer is { Block: { } b } l ? 2.0 * s.Tokens * b.FfnHidden * l.OutFeatures : 0;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        yield return $"{b.Name} MLP down (row-parallel): [T, {b.FfnShard}] · W [{b.FfnShard}, {b.D}] → partial sums [T, {b.D}] per device.";
    }
}
