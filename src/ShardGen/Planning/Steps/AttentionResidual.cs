using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The attention half's output bias (once, after the reduction) plus the block's input, in place on the stream.</summary>
internal sealed class AttentionResidual : BlockStep
{
    public override PlanStepKind Kind => PlanStepKind.AttentionResidual;
    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Replicated;
    public override int BlockHalf => 1;
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.AttentionResidual);
    public override StepCall Call => StepCall.BlockResidual;
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "the gradient flows to both the sum and the residual; dBias summed over tokens");

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        yield return b.Layer.HasBias
            ? $"{b.Name}: output bias [{b.D}] added once, after the reduction, + residual {c.ResidualVariable} (the block's input), in place on [{b.Rows}, {b.D}]."
            : $"{b.Name}: + residual {c.ResidualVariable} (the block's input), in place on [{b.Rows}, {b.D}]; no bias.";
    }
}
