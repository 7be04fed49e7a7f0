using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>A transformer block's MLP norm, on the residual stream wherever it lives (replicated or token shards).</summary>
internal sealed class MlpNorm : BlockStep
{
    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Replicated;
    public override int BlockHalf => 2;
    public override string Method => nameof(IStepMethods.MlpNorm);
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "the norm's derivative per token, added into the residual stream's gradient; dScale and dShift summed over tokens",
        nameof(IBackwardStepMethods.MlpNormBackward), BackwardCall.AddsToInputGradient);

    public override long BackwardTotalBytes(StepSizes s) =>
        s.Layer is { Block: { } b } l ? ReplicatedGradients.TotalBytes(s, ReplicatedGradients.NormParameters(b.Norm), l.InFeatures) : 0;

    public override int BackwardCalls(CollectiveOp op, StepSizes s) =>
        s.Layer is { Block: { } b } ? ReplicatedGradients.Calls(op, s, ReplicatedGradients.NormParameters(b.Norm)) : 0;

    public override string? BackwardCollectives(StepContext c) => c.Layer is { Block: { } b }
        ? ReplicatedGradients.Words(c, ReplicatedGradients.NormParameters(b.Norm), b.Norm == NormKind.LayerNorm ? "scale and shift" : "scale")
        : null;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        yield return $"{b.Name}: MLP norm ({PlanText.NormName(b.Spec)}) on {b.Stream}.";
        if (b.StreamNote is not null) yield return b.StreamNote;
    }
}
