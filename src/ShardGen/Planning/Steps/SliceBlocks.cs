using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Replicated → 2D blocks: each device keeps its own block as a view; nothing is sent.</summary>
internal sealed class SliceBlocks : TransitionStep
{
    public override PlanStepKind Kind => PlanStepKind.SliceBlocks;
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Grid2D;
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.SliceBlocks);
    public override StepBackward Backward { get; } = new(BackwardOp.AllGather, "all-gather of the gradient's blocks, in grid columns then rows");

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Replicated [T, {c.FText}] → blocks [{c.Text.TokenBlock}, {c.Text.OverQ(c.F)}]: each device keeps its own block; nothing is sent.";
    }
}
