namespace ShardGen.Planning.Steps;

/// <summary>The MLP half's down-projection bias (once, after the reduction) plus the attention half's output, in place.</summary>
internal sealed class MlpResidual : BlockResidualStep
{
    public override int BlockHalf => 2;
    public override string Method => nameof(IStepMethods.MlpResidual);
    protected override string BackwardMethod => nameof(IBackwardStepMethods.MlpResidualBackward);
    protected override string BiasName => "down-projection bias";
    protected override string ResidualName => "the attention half's output";
}
