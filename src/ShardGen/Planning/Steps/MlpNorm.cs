using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>A transformer block's MLP norm, on the residual stream wherever it lives (replicated or token shards).</summary>
internal sealed class MlpNorm : BlockNormStep
{
    public MlpNorm() : base(nameof(IBackwardStepMethods.MlpNormBackward)) { }

    public override int BlockHalf => 2;
    public override string Method => nameof(IStepMethods.MlpNorm);

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        yield return $"{b.Name}: MLP norm ({PlanText.NormName(b.Spec)}) on {b.Stream}.";
        if (b.StreamNote is not null) yield return b.StreamNote;
    }
}
