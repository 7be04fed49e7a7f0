using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Column shards → 2D blocks: grid column j's q shards make up feature block j, so an all-gather inside each grid
/// column gives every member block j for all tokens, and each keeps its token block.
/// </summary>
internal sealed class ColumnShardsToBlocks : TransitionStep
{
    public override Placement Input => Placement.Shard(ShardAxis.Features);
    public override Placement Output => Placement.Grid2D;
    public override string Method => nameof(IStepMethods.ColumnShardsToBlocks);
    public override bool IsCollective => true;
    // Each element moves to one place (a permutation): the reverse movement is the adjoint.
    public override StepBackward Backward { get; } = new(BackwardOp.Reverse,
        "the reverse movement (a permutation's adjoint): the gradient's blocks back onto column shards by an all-gather inside each grid column",
        nameof(IStepMethods.BlocksToColumnShards), BackwardCall.Conjugate)
    { ConjugateOf = (typeof(BlocksToColumnShards), Placement.Grid2D, Placement.Shard(ShardAxis.Features)) };

    /// <summary>An all-gather inside each grid column: q groups gathering n/q each, (q−1)·n floats in total.</summary>
    public override long TotalBytes(StepSizes s) => StepSizes.Bytes((s.Q - 1) * s.Elements);
    public override int Calls(CollectiveOp op, StepSizes s) => op == CollectiveOp.AllGather ? s.Q : 0;
    public override int LatencySteps(StepSizes s) => s.Devices == 1 ? 0 : s.Q - 1;
    public override string BytesFormula => "(q−1)/P";

    public override IEnumerable<string> Comment(StepContext c)
    {
        var t = c.Text;
        yield return $"Column shards [T, {t.OverP(c.F)}] → blocks [{t.TokenBlock}, {t.OverQ(c.F)}]: all-gather inside each grid column (its {(t.Fixed ? "" : "q ")}shards make up one feature block), each device keeps its token block.";
        yield return $"{c.Bytes("(q−1)/P", needsGrid: true)}{(c.Consumer is null ? "" : $"; {c.ConsumerText} works on {t.Grid} blocks")}.";
    }

    public override string? Summary(StepContext c) =>
        $"all-gathers in grid columns, {c.ProducerName}'s column shards to blocks [T, {c.FText}]: {c.Bytes("(q−1)/P", needsGrid: true)}.";
}
