using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Token shards → every token on every device (ring all-gather along the token axis; sequence parallelism).</summary>
internal sealed class AllGatherTokens : MeshCollectiveStep
{
    public override PlanStepKind Kind => PlanStepKind.AllGatherTokens;
    public override Placement Input => Placement.Shard(ShardAxis.Tokens);
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.AllGatherTokens);
    protected override CollectiveOp Op => CollectiveOp.AllGather;
    public override StepBackward Backward { get; } = new(BackwardOp.ReduceScatter, "reduce-scatter of the per-device gradients onto token blocks");

    public override IEnumerable<string> Comment(StepContext c)
    {
        if (c.InBlock is { } inBlock)
        {
            string d = c.FText;
            yield return $"All-gather tokens #{PlanText.N(inBlock.Ordinal)} of 2 in {c.Block!.Name}: token blocks [{c.Text.TokenShard}, {d}] → [T, {d}] on every device: " +
                $"{c.Bytes("(P−1)/P")}.";
            yield return inBlock.Ordinal == 1
                ? "The QKV projection needs every token of the normalized stream."
                : "The MLP up-projection needs every token of the normalized stream.";
            yield break;
        }
        yield return $"All-gather tokens: token blocks [{c.Text.TokenShard}, {c.FText}] → [T, {c.FText}] on every device: {c.Bytes("(P−1)/P")}.";
        if (c.Consumer is not null)
            yield return $"{c.ConsumerText} needs every token on every device.";
    }

    public override string? Summary(StepContext c) => c.InBlock is { } inBlock
        ? $"all-gather tokens {BlockCollective.Of(c, inBlock)}, before {(inBlock.Ordinal == 1 ? "QKV" : "MLP up")} [T, {c.F}]: {c.Bytes("(P−1)/P")}."
        : $"all-gather tokens of {c.ProducerName}'s token blocks [T, {c.F}]: {c.Bytes("(P−1)/P")}.";
}
