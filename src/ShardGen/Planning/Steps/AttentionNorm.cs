using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>A transformer block's attention norm, on the residual stream wherever it lives (replicated or token shards).</summary>
internal sealed class AttentionNorm : BlockNormStep
{
    public AttentionNorm() : base(nameof(IBackwardStepMethods.AttentionNormBackward)) { }

    public override int BlockHalf => 1;
    public override bool StartsLayer => true;
    public override string Method => nameof(IStepMethods.AttentionNorm);

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        yield return $"{b.Name} (transformer block): attention norm ({PlanText.NormName(b.Spec)}) on {b.Stream}.";
        if (b.StreamNote is not null) yield return b.StreamNote;
    }
}
