using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Partial sums → the full sum on every device (ring all-reduce, in place).</summary>
internal sealed class AllReduce : MeshCollectiveStep
{
    public override Placement Input => Placement.Partial;
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.AllReduce);
    protected override CollectiveOp Op => CollectiveOp.AllReduce;
    public override StepBackward Backward { get; } = new(BackwardOp.Identity, "conjugate of the all-reduce: identity (Megatron's g), each device's partial sum has the whole gradient as its gradient",
        call: BackwardCall.Identity);

    /// <summary>Ring all-reduce of n floats over P devices: 2(P−1)·n floats in total.</summary>
    public override long TotalBytes(StepSizes s) => PlanCost.RingAllReduce(s.Devices, s.Elements);

    public override int LatencySteps(StepSizes s) => 2 * (s.Devices - 1);

    public override string BytesFormula => "2(P−1)/P";

    public override IEnumerable<string> Comment(StepContext c)
    {
        if (c.InBlock is { } inBlock)
        {
            yield return $"All-reduce #{PlanText.N(inBlock.Ordinal)} of 2 in {c.Block!.Name}, of the partial sums [T, {c.FText}] (ring): {c.Bytes("2(P−1)/P")}.";
            yield break;
        }
        yield return $"All-reduce (ring) of the partial sums [T, {c.FText}]: {c.Bytes("2(P−1)/P")}.";
        if (c.Consumer is not null)
            yield return $"All-reduce, not reduce-scatter: {c.ConsumerText} needs the whole activation on every device.";
    }

    public override string? Summary(StepContext c) => c.InBlock is { } inBlock
        ? $"all-reduce {BlockCollective.Of(c, inBlock)}, of the {BlockCollective.Half(inBlock)} partial sums [T, {c.FText}]: {c.Bytes("2(P−1)/P")}."
        : $"all-reduce of {c.ProducerName}'s partial sums [T, {c.FText}]: {c.Bytes("2(P−1)/P")}.";
}
