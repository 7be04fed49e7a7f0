using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Partial sums → device r holds the sum of token block r only (ring reduce-scatter along the token axis).</summary>
internal sealed class ReduceScatterTokens : MeshCollectiveStep
{
    public override PlanStepKind Kind => PlanStepKind.ReduceScatterTokens;
    public override Placement Input => Placement.Partial;
    public override Placement Output => Placement.Shard(ShardAxis.Tokens);
    public override string Method => nameof(IForwardSteps<object, object, object, object, object, object, object, object, object>.ReduceScatterTokens);
    protected override CollectiveOp Op => CollectiveOp.ReduceScatter;
    public override StepBackward Backward { get; } = new(BackwardOp.AllGather, "all-gather of the gradient's token blocks");

    public override IEnumerable<string> Comment(StepContext c)
    {
        if (c.InBlock is { } inBlock)
        {
            string d = c.FText;
            yield return $"Reduce-scatter #{PlanText.N(inBlock.Ordinal)} of 2 in {c.Block!.Name}, over tokens: partial sums [T, {d}] → token block [{c.Text.TokenShard}, {d}] per device: " +
                $"{c.Bytes("(P−1)/P")}.";
            yield return "Reduce-scatter, not all-reduce (sequence parallel): the residual stream stays sharded by tokens, at half the bytes.";
            yield break;
        }
        yield return $"Reduce-scatter over tokens of the partial sums [T, {c.FText}] → token blocks [{c.Text.TokenShard}, {c.FText}] per device: {c.Bytes("(P−1)/P")}.";
        if (c.Consumer is not null)
            yield return $"Reduce-scatter, not all-reduce: {c.ConsumerText} keeps its residual stream sharded by tokens (sequence parallel), at half the bytes.";
    }

    public override string? Summary(StepContext c) => c.InBlock is { } inBlock
        ? $"reduce-scatter over tokens {BlockCollective.Of(c, inBlock)}, of the {BlockCollective.Half(inBlock)} partial sums [T, {c.F}]: {c.Bytes("(P−1)/P")}."
        : $"reduce-scatter over tokens of {c.ProducerName}'s partial sums [T, {c.F}]: {c.Bytes("(P−1)/P")}.";
}
