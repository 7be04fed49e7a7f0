using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Devices to host: the host reads each piece once, from any device placement; no collective.</summary>
internal sealed class Download : StepType
{
    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Host;
    public override string Method => nameof(IStepMethods.Download);
    public override StepCall Call => StepCall.Download;
    public override StepBackward Backward { get; } = new(BackwardOp.HostTransfer,
        "the loss instead of the download: vocab-parallel cross-entropy of the logit shards against the targets, dLogits = scale·(softmax − onehot)",
        nameof(IBackwardStepMethods.CrossEntropy), BackwardCall.Loss);

    /// <summary>
    /// The loss's statistics (vocab-parallel cross-entropy): each device's row maxima all-gathered side by side [T, P],
    /// then one all-reduce of the sums [T, 2] (Σ exp and the target logit, non-zero on its owner only).
    /// </summary>
    public override long BackwardTotalBytes(StepSizes s) =>
        StepSizes.Bytes((s.Devices - 1) * (long)s.Tokens * s.Devices) + PlanCost.RingAllReduce(s.Devices, 2L * s.Tokens);

    public override int BackwardCalls(CollectiveOp op, StepSizes s) => op is CollectiveOp.AllGather or CollectiveOp.AllReduce ? 1 : 0;

    public override string? BackwardCollectives(StepContext c) =>
        $"Logits never gathered: the row maxima travel side by side (all-gather [T, {c.Text.P}]: (P−1)·T·4 B per device), " +
        $"then one all-reduce of Σ exp and the target logit [T, 2]: 2(P−1)/P · T·2·4 B per device.";

    public override IEnumerable<string> Comment(StepContext c)
    {
        string f = c.FText;
        var from = c.Step.From;
        yield return from == Placement.Replicated ? $"Output [T, {f}] → host, from device 0's replica."
            : from == Placement.ColumnShards && c.Index > 0 && c.Steps[c.Index - 1].Type is LmHead
                ? $"Logits [T, {f}] → host: the host reads each device's logits of its own vocabulary range; no collective needed."
            : from == Placement.ColumnShards ? $"Output [T, {f}] → host: the host reads each device's column shard [T, {c.Text.SizeOverP(c.F, c.FName)}]; no collective needed."
            : from == Placement.Grid2D ? $"Output [T, {f}] → host: the host reads each device's block [{c.Text.TokenBlock}, {c.Text.OverQ(c.F)}]; no collective needed."
            : from == Placement.TokenShards ? $"Output [T, {f}] → host: the host reads each device's token block [{c.Text.TokenShard}, {f}]; no collective needed."
            : $"Output [T, {f}] → host.";
    }
}
