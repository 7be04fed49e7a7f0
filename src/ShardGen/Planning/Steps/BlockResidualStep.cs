using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// A block half's end: its row-parallel projection's bias (once, after the reduction) plus the residual, in place on
/// the stream. The two halves differ only in which bias and which residual they name.
/// </summary>
internal abstract class BlockResidualStep : BlockStep, IReplicatedParameters
{
    public (int Count, long Elements) ReplicatedParameters(LayerSpec layer) => layer.HasBias ? (1, layer.InFeatures) : default;

    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Replicated;
    public override StepCall Call => StepCall.BlockResidual;
    public override StepBackward Backward => _backward ??= new(BackwardOp.Local,
        "the gradient flows on to both the sum and the residual unchanged; dBias summed over tokens", BackwardMethod, BackwardCall.Parameters);

    private StepBackward? _backward;

    /// <summary>The backward's method: the bias gradient of the half's row-parallel projection.</summary>
    protected abstract string BackwardMethod { get; }

    /// <summary>The bias's name in the words ("output bias"); the residual's ("the block's input").</summary>
    protected abstract string BiasName { get; }
    protected abstract string ResidualName { get; }

    public override long BackwardTotalBytes(StepSizes s) =>
        s.Layer is { HasBias: true } l ? ReplicatedGradients.TotalBytes(s, 1, l.InFeatures) : 0;

    public override int BackwardCalls(CollectiveOp op, StepSizes s) => s.Layer is { HasBias: true } ? ReplicatedGradients.Calls(op, s, 1) : 0;

    public override string? BackwardCollectives(StepContext c) => c.Layer is { HasBias: true } ? ReplicatedGradients.Words(c, 1, BiasName) : null;

    protected override IEnumerable<string> Comment(StepContext c, BlockWords b)
    {
        yield return b.Layer.HasBias
            ? $"{b.Name}: {BiasName} [{b.D}] added once, after the reduction, + residual {c.ResidualVariable} ({ResidualName}), in place on [{b.Rows}, {b.D}]."
            : $"{b.Name}: + residual {c.ResidualVariable} ({ResidualName}), in place on [{b.Rows}, {b.D}]; no bias.";
    }
}
