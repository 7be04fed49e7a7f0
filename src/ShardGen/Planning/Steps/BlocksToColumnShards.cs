using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>2D blocks → column shards: an all-gather of the token blocks inside each grid column; each device keeps its columns.</summary>
internal sealed class BlocksToColumnShards : TransitionStep
{
    public override Placement Input => Placement.Grid2D;
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override string Method => nameof(IStepMethods.BlocksToColumnShards);
    public override bool IsCollective => true;
    // Each element moves to one place (a permutation): the reverse movement is the adjoint.
    public override StepBackward Backward { get; } = new(BackwardOp.Reverse,
        "the reverse movement (a permutation's adjoint): the gradient's column shards back onto blocks by an all-gather inside each grid column",
        nameof(IStepMethods.ColumnShardsToBlocks), BackwardCall.Conjugate)
    { ConjugateOf = (typeof(ColumnShardsToBlocks), Placement.Shard(ShardAxis.Features), Placement.Grid2D) };

    public override long TotalBytes(StepSizes s) => StepSizes.Bytes((s.Q - 1) * s.Elements);
    public override int Calls(CollectiveOp op, StepSizes s) => op == CollectiveOp.AllGather ? s.Q : 0;
    public override int LatencySteps(StepSizes s) => s.Devices == 1 ? 0 : s.Q - 1;
    public override string BytesFormula => "(q−1)/P";

    public override IEnumerable<string> Comment(StepContext c)
    {
        var t = c.Text;
        yield return $"Blocks [{t.TokenBlock}, {t.OverQ(c.F)}] → column shards [T, {t.OverP(c.F)}]: all-gather of the token blocks inside each grid column, each device keeps its columns.";
        yield return $"{c.Bytes("(q−1)/P", needsGrid: true)}{(c.Consumer is null ? "" : $"; {c.ConsumerText} needs column shards")}.";
    }

    public override string? Summary(StepContext c) =>
        $"all-gathers in grid columns, {c.ProducerName}'s blocks to column shards [T, {c.FText}]: {c.Bytes("(q−1)/P", needsGrid: true)}.";
}
