using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Attention on each device's own heads, within each sequence; the context comes out as column shards.</summary>
internal sealed class Attention : BlockStep
{
    public override Placement Input => Placement.Shard(ShardAxis.Heads);
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override int BlockHalf => 1;
    public override string Method => nameof(IStepMethods.Attention);
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "attention's backward on the same heads (dq, dk, dv; the rotary backward on dq and dk), no communication",
        nameof(IBackwardStepMethods.AttentionBackward), BackwardCall.Gradient);

    /// <summary>
    /// Scores Q·Kᵀ and weights·V for every query head over all keys (causal masking halves the useful work;
    /// counted whole, as a dense kernel computes it).
    /// </summary>
    public override double Flops(StepSizes s) =>
        s.Layer is { Block: { } b } l ? 2.0 * 2 * s.Tokens * (double)s.Tokens * b.Heads * b.HeadDim(l.InFeatures) : 0;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        int hidden = b.Layer.InFeatures;
        yield return $"{b.Name}: attention on this device's {c.Text.OverP(b.Spec.Heads, "head")}, {(b.Spec.Causal ? "causal" : "bidirectional")}, within each sequence: " +
            $"softmax(q·kᵀ/√{PlanText.HeadDim(b.Spec, hidden)})·v → context [T, {c.Text.LocalHeadsWidth(b.Spec, hidden)}] per device, the column shards of [T, {b.D}].";
        if (b.Spec.Rotary)
            yield return $"Rotary positions first (rotate_half, {PlanText.Setting("θ", b.Spec.RopeTheta)}), in place on this device's q and k heads; " +
                "positions restart at 0 in each packed sequence.";
        if (c.Step.InStack)
            yield return "With a KV cache (one sequence), the new tokens' k and v are appended to this device's cache of its KV heads " +
                "and the queries attend over the cached tokens and themselves.";
        yield return "No collective: each head reads only its own q, k and v.";
    }
}
