using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Replicated → column shards: each device keeps its own columns as a view; nothing is sent.</summary>
internal sealed class SliceColumns : TransitionStep
{
    public override PlanStepKind Kind => PlanStepKind.SliceColumns;
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.SliceColumns);
    public override StepBackward Backward { get; } = new(BackwardOp.AllGather, "all-gather of the gradient's column shards");

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Replicated [T, {c.FText}] → column shards [T, {c.Text.OverP(c.F)}]: each device keeps its own columns; nothing is sent.";
    }
}
