using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The standalone norm after a transformer stack, on the residual stream wherever it lives; its scale replicated.</summary>
internal sealed class FinalNorm : StepType, IReplicatedParameters
{
    public (int Count, long Elements) ReplicatedParameters(LayerSpec layer) => (ReplicatedGradients.NormParameters(layer.Norm), layer.InFeatures);

    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.FinalNorm);
    public override StepCall Call => StepCall.NormLaunch;
    public override bool StartsLayer => true;
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "the norm's derivative per token; dScale and dShift summed over tokens",
        nameof(IBackwardStepMethods.FinalNormBackward), BackwardCall.Gradient);

    public override long BackwardTotalBytes(StepSizes s) =>
        s.Layer is { } l ? ReplicatedGradients.TotalBytes(s, ReplicatedGradients.NormParameters(l.Norm), l.InFeatures) : 0;

    public override int BackwardCalls(CollectiveOp op, StepSizes s) =>
        s.Layer is { } l ? ReplicatedGradients.Calls(op, s, ReplicatedGradients.NormParameters(l.Norm)) : 0;

    public override string? BackwardCollectives(StepContext c) => c.Layer is { } l
        ? ReplicatedGradients.Words(c, ReplicatedGradients.NormParameters(l.Norm), l.Norm == NormKind.LayerNorm ? "scale and shift" : "scale")
        : null;

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string d = PlanText.Size(layer.InFeatures, "hidden");
        string kind = $"{(layer.Norm == NormKind.RmsNorm ? "RMSNorm" : "LayerNorm")}, {PlanText.Setting("ε", layer.NormEpsilon)}";
        yield return c.Step.From == Placement.TokenShards
            ? $"{layer.Name} (final norm: {kind}) on each device's own tokens [{c.Text.TokenShard}, {d}] (sequence parallel); no collective."
            : $"{layer.Name} (final norm: {kind}) on the residual stream [T, {d}], replicated: every device normalizes every token; no collective.";
    }
}
