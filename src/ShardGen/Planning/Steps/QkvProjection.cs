using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The fused q|k|v projection, column-parallel by whole heads: each device computes its own heads' q, k and v.</summary>
internal sealed class QkvProjection : BlockStep
{
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Shard(ShardAxis.Heads);
    public override int BlockHalf => 1;
    public override string Method => nameof(IStepMethods.QkvProjection);
    public override StepBackward Backward { get; } =
        new(BackwardOp.AllReduce, "dX = d(q|k|v)·Wᵀ per device (partial sums of dX), dW shard = Xᵀ·d(q|k|v), local",
            nameof(IBackwardStepMethods.QkvProjectionBackward), BackwardCall.Gradient) { GivesPartialSums = true };

    public override long BackwardTotalBytes(StepSizes s) => SharedKvGradients.TotalBytes(s);

    public override int BackwardCalls(CollectiveOp op, StepSizes s) => SharedKvGradients.Calls(op, s);

    public override string? BackwardCollectives(StepContext c) => SharedKvGradients.Words(c);

    public override double Flops(StepSizes s) =>
        s.Layer is { Block: { } b } l ? 2.0 * s.Tokens * l.InFeatures * b.QkvWidth(l.InFeatures) : 0;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        int hidden = b.Layer.InFeatures;
        yield return $"{b.Name} QKV, column-parallel by whole heads: [T, {b.D}] · W [{b.D}, {c.Text.LocalQkvWidth(b.Spec, hidden)}] → " +
            $"q|k|v of this device's {c.Text.OverP(b.Spec.Heads, "query head")} and the matching KV heads; {b.QkvBias}.";
        if (c.Text.KvHeadsNote(b.Spec, hidden) is { } note) yield return note;
    }
}
