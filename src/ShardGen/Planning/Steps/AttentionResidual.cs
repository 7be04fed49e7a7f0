namespace ShardGen.Planning.Steps;

/// <summary>The attention half's output bias (once, after the reduction) plus the block's input, in place on the stream.</summary>
internal sealed class AttentionResidual : BlockResidualStep
{
    public override int BlockHalf => 1;
    public override string Method => nameof(IStepMethods.AttentionResidual);
    protected override string BackwardMethod => nameof(IBackwardStepMethods.AttentionResidualBackward);
    protected override string BiasName => "output bias";
    protected override string ResidualName => "the block's input";
}
