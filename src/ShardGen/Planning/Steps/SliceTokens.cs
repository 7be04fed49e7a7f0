using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Replicated → token shards: each device keeps its own tokens as a view (sequence parallelism); nothing is sent.</summary>
internal sealed class SliceTokens : TransitionStep
{
    public override PlanStepKind Kind => PlanStepKind.SliceTokens;
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Shard(ShardAxis.Tokens);
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.SliceTokens);
    public override StepBackward Backward { get; } = new(BackwardOp.AllGather, "all-gather of the gradient's token blocks");

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Replicated [T, {c.FText}] → token blocks [{c.Text.TokenShard}, {c.FText}]: each device keeps its own tokens (sequence parallel); nothing is sent.";
    }
}
