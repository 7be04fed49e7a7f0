using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Column shards → the whole tensor on every device (ring all-gather).</summary>
internal sealed class AllGather : MeshCollectiveStep
{
    public override PlanStepKind Kind => PlanStepKind.AllGather;
    public override Placement Input => Placement.Shard(ShardAxis.Features);
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.AllGather);
    protected override CollectiveOp Op => CollectiveOp.AllGather;
    public override StepBackward Backward { get; } = new(BackwardOp.ReduceScatter, "reduce-scatter of the per-device gradients onto column shards");

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"All-gather of the column shards [T, {c.Text.OverP(c.F)}] → [T, {c.FText}] on every device: {c.Bytes("(P−1)/P")}.";
        if (c.Consumer is not null && c.Next is { IsTransition: true, Output: { Kind: PlacementKind.Shard, Axis: ShardAxis.Tokens } })
            yield return $"{c.ConsumerText} takes token blocks of the whole activation (sequence parallel): gathered first, then each device keeps its own tokens.";
        else if (c.Consumer is not null)
            yield return $"{c.ConsumerText} needs the whole activation on every device.";
    }

    public override string? Summary(StepContext c) =>
        $"all-gather of {c.ProducerName}'s column shards [T, {c.F}]: {c.Bytes("(P−1)/P")}.";
}
