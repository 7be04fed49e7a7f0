using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Shards along <see cref="Axis"/> → the whole tensor on every device (ring all-gather along that axis). One step kind
/// for every axis: the catalog holds one instance per axis a tensor is sharded on between layers, and a plan step's
/// input placement picks it (<see cref="PlanStep.Type"/>). Both read different placements, so the ForwardPass
/// method is one name with an overload per axis.
/// </summary>
internal sealed class AllGather(ShardAxis axis) : MeshCollectiveStep
{
    /// <summary>The catalog's instances: one per axis a tensor is sharded on between layers.</summary>
    public static StepType[] Instances => [new AllGather(ShardAxis.Features), new AllGather(ShardAxis.Tokens)];

    /// <summary>The axis the input is sharded along: features (column shards) or tokens (sequence parallelism).</summary>
    public ShardAxis Axis { get; } = axis;

    public override Placement Input => Placement.Shard(Axis);
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.AllGather);
    protected override CollectiveOp Op => CollectiveOp.AllGather;

    public override StepBackward Backward { get; } = axis == ShardAxis.Tokens
        ? new(BackwardOp.ReduceScatter, "conjugate of the all-gather over tokens: reduce-scatter of the per-device gradients onto token blocks",
            nameof(IStepMethods.ReduceScatterTokens), BackwardCall.Conjugate)
        { ConjugateOf = (typeof(ReduceScatter), Placement.Partial, Placement.Shard(axis)), TakesPartialSums = true }
        : new(BackwardOp.ReduceScatter, "conjugate of the all-gather: reduce-scatter of the per-device gradients onto column shards",
            nameof(IStepMethods.ReduceScatter), BackwardCall.Conjugate)
        { ConjugateOf = (typeof(ReduceScatter), Placement.Partial, Placement.Shard(axis)), TakesPartialSums = true };

    public override IEnumerable<string> Comment(StepContext c) => Axis == ShardAxis.Tokens ? TokensComment(c) : ColumnsComment(c);

    private static IEnumerable<string> ColumnsComment(StepContext c)
    {
        yield return $"All-gather of the column shards [T, {c.Text.SizeOverP(c.F, c.FName)}] → [T, {c.FText}] on every device: {c.Bytes("(P−1)/P")}.";
        if (c.Consumer is not null && c.Next is { IsTransition: true, Output: { Kind: PlacementKind.Shard, Axis: ShardAxis.Tokens } })
            yield return $"{c.ConsumerText} takes token blocks of the whole activation (sequence parallel): gathered first, then each device keeps its own tokens.";
        else if (c.Consumer is not null)
            yield return $"{c.ConsumerText} needs the whole activation on every device.";
    }

    private static IEnumerable<string> TokensComment(StepContext c)
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

    public override string? Summary(StepContext c) => Axis == ShardAxis.Tokens
        ? c.InBlock is { } inBlock
            ? $"all-gather tokens {BlockCollective.Of(c, inBlock)}, before {(inBlock.Ordinal == 1 ? "QKV" : "MLP up")} [T, {c.FText}]: {c.Bytes("(P−1)/P")}."
            : $"all-gather tokens of {c.ProducerName}'s token blocks [T, {c.FText}]: {c.Bytes("(P−1)/P")}."
        : $"all-gather of {c.ProducerName}'s column shards [T, {c.FText}]: {c.Bytes("(P−1)/P")}.";
}
