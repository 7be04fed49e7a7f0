using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Partial sums → device r holds the sum of its shard r along <see cref="Axis"/> only (ring reduce-scatter onto that
/// axis). One step kind for every axis: the catalog holds one instance per axis, and a plan step's output placement picks
/// it. The ForwardPass method is named per axis, since both read partial sums and C# cannot overload on the result.
/// </summary>
internal sealed class ReduceScatter(ShardAxis axis) : MeshCollectiveStep
{
    /// <summary>The catalog's instances: one per axis the sums are scattered onto.</summary>
    public static StepType[] Instances => [new ReduceScatter(ShardAxis.Features), new ReduceScatter(ShardAxis.Tokens)];

    /// <summary>The axis the sums are scattered onto: features (column shards) or tokens (sequence parallelism).</summary>
    public ShardAxis Axis { get; } = axis;

    public override Placement Input => Placement.Partial;
    public override Placement Output => Placement.Shard(Axis);
    public override string Method => Axis == ShardAxis.Tokens
        ? nameof(IStepMethods.ReduceScatterTokens)
        : nameof(IStepMethods.ReduceScatter);
    protected override CollectiveOp Op => CollectiveOp.ReduceScatter;

    public override StepBackward Backward { get; } = new(BackwardOp.AllGather, axis == ShardAxis.Tokens
        ? "conjugate of the reduce-scatter over tokens: all-gather of the gradient's token blocks"
        : "conjugate of the reduce-scatter: all-gather of the gradient's column shards", nameof(IStepMethods.AllGather), BackwardCall.Conjugate)
    { ConjugateOf = (typeof(AllGather), Placement.Shard(axis), Placement.Replicated) };

    public override IEnumerable<string> Comment(StepContext c) => Axis == ShardAxis.Tokens ? TokensComment(c) : ColumnsComment(c);

    private static IEnumerable<string> ColumnsComment(StepContext c)
    {
        yield return $"Reduce-scatter of the partial sums [T, {c.FText}] → column shards [T, {c.Text.SizeOverP(c.F, c.FName)}] per device: {c.Bytes("(P−1)/P")}.";
        if (c.Consumer is { Strategy: ParallelStrategy.RowParallel })
            yield return $"Reduce-scatter, not all-reduce: {c.ConsumerText} needs only its shard, at half the bytes.";
        else if (c.Consumer is { Strategy: ParallelStrategy.Summa2D })
            yield return $"Reduce-scatter, not all-reduce: {c.ConsumerText} needs only blocks, gathered from these shards next.";
    }

    private static IEnumerable<string> TokensComment(StepContext c)
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

    public override string? Summary(StepContext c) => Axis == ShardAxis.Tokens
        ? c.InBlock is { } inBlock
            ? $"reduce-scatter over tokens {BlockCollective.Of(c, inBlock)}, of the {BlockCollective.Half(inBlock)} partial sums [T, {c.FText}]: {c.Bytes("(P−1)/P")}."
            : $"reduce-scatter over tokens of {c.ProducerName}'s partial sums [T, {c.FText}]: {c.Bytes("(P−1)/P")}."
        : $"reduce-scatter of {c.ProducerName}'s partial sums [T, {c.FText}]: {c.Bytes("(P−1)/P")}.";
}
