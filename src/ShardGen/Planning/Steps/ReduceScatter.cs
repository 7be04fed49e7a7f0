using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Partial sums → device r holds the sum of column shard r only (ring reduce-scatter).</summary>
internal sealed class ReduceScatter : MeshCollectiveStep
{
    public override PlanStepKind Kind => PlanStepKind.ReduceScatter;
    public override Placement Input => Placement.Partial;
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.ReduceScatter);
    protected override CollectiveOp Op => CollectiveOp.ReduceScatter;
    public override StepBackward Backward { get; } = new(BackwardOp.AllGather, "all-gather of the gradient's column shards");

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Reduce-scatter of the partial sums [T, {c.FText}] → column shards [T, {c.Text.OverP(c.F)}] per device: {c.Bytes("(P−1)/P")}.";
        if (c.Consumer is { Strategy: ParallelStrategy.RowParallel })
            yield return $"Reduce-scatter, not all-reduce: {c.ConsumerText} needs only its shard, at half the bytes.";
        else if (c.Consumer is { Strategy: ParallelStrategy.Summa2D })
            yield return $"Reduce-scatter, not all-reduce: {c.ConsumerText} needs only blocks, gathered from these shards next.";
    }

    public override string? Summary(StepContext c) =>
        $"reduce-scatter of {c.ProducerName}'s partial sums [T, {c.F}]: {c.Bytes("(P−1)/P")}.";
}
