using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>2D blocks → the whole tensor on every device: all-gather inside grid columns, then inside grid rows.</summary>
internal sealed class BlocksToReplicated : TransitionStep
{
    public override Placement Input => Placement.Grid2D;
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.BlocksToReplicated);
    public override bool IsCollective => true;
    // The output feeds a column-parallel launch, whose dX is per-device partial sums: their sum's blocks, as the
    // all-gather's conjugate reduce-scatter takes them (no all-reduce of dX first).
    public override StepBackward Backward { get; } = new(BackwardOp.ReduceScatter,
        "conjugate of the all-gathers: reduce-scatter of the per-device gradients inside grid rows onto feature blocks, then inside grid columns onto token blocks",
        nameof(IBackwardStepMethods.ReduceScatterBlocks), BackwardCall.Conjugate)
    { TakesPartialSums = true };

    /// <summary>The backward's two reduce-scatters move what the forward's two all-gathers move: (P−1)·n floats in total.</summary>
    public override long BackwardTotalBytes(StepSizes s) => TotalBytes(s);
    public override int BackwardCalls(CollectiveOp op, StepSizes s) => op == CollectiveOp.ReduceScatter ? 2 * s.Q : 0;
    public override string? BackwardCollectives(StepContext c) => $"The two reduce-scatters together, of [T, {c.FText}]: {c.Bytes("(P−1)/P")}.";

    /// <summary>(q−1)·n in grid columns, then q·(q−1)·n in grid rows: (P−1)·n floats in total.</summary>
    public override long TotalBytes(StepSizes s) => StepSizes.Bytes((s.Devices - 1) * s.Elements);
    public override int Calls(CollectiveOp op, StepSizes s) => op == CollectiveOp.AllGather ? 2 * s.Q : 0;
    public override int LatencySteps(StepSizes s) => s.Devices == 1 ? 0 : 2 * (s.Q - 1);
    public override string BytesFormula => "(P−1)/P";

    public override IEnumerable<string> Comment(StepContext c)
    {
        var t = c.Text;
        yield return $"Blocks [{t.TokenBlock}, {t.OverQ(c.F)}] → [T, {c.FText}] on every device: all-gather inside grid columns, then inside grid rows.";
        yield return $"{c.Bytes("(P−1)/P")}{(c.Consumer is null ? "" : $"; {c.ConsumerText} needs the whole activation on every device")}.";
    }

    public override string? Summary(StepContext c) =>
        $"all-gathers in grid columns and rows, {c.ProducerName}'s blocks to every device [T, {c.FText}]: {c.Bytes("(P−1)/P")}.";
}
