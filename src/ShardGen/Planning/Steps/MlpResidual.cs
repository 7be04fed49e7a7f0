using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The MLP half's down-projection bias (once, after the reduction) plus the attention half's output, in place.</summary>
internal sealed class MlpResidual : BlockStep
{
    public override PlanStepKind Kind => PlanStepKind.MlpResidual;
    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Replicated;
    public override int BlockHalf => 2;
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.MlpResidual);
    public override StepCall Call => StepCall.BlockResidual;
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "the gradient flows to both the sum and the residual; dBias summed over tokens");

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        yield return b.Layer.HasBias
            ? $"{b.Name}: down-projection bias [{b.D}] added once, after the reduction, + residual {c.ResidualVariable} (the attention half's output), in place on [{b.Rows}, {b.D}]."
            : $"{b.Name}: + residual {c.ResidualVariable} (the attention half's output), in place on [{b.Rows}, {b.D}]; no bias.";
    }
}
