namespace ShardGen.Planning.Steps;

/// <summary>
/// Grouped-query attention with fewer key/value heads than devices: each KV head's k/v columns of the q|k|v projection
/// are replicated on the P/KvHeads devices whose query heads read it, so the backward all-reduces each KV head's
/// weight and bias gradient (hidden + 1 rows of 2·dh, one buffer) within its group: one ring all-reduce per KV head.
/// </summary>
internal static class SharedKvGradients
{
    private static bool Shared(StepSizes s, TransformerSpec b) => b.KvHeads > 0 && b.KvHeads < s.Devices;

    /// <summary>Elements of one KV head's gradient: its key and value columns, and their biases' row.</summary>
    private static long Elements(LayerSpec l, TransformerSpec b) =>
        (l.InFeatures + (l.HasBias || b.QkvBias ? 1L : 0)) * 2L * b.HeadDim(l.InFeatures);

    /// <summary>Bytes of the KV groups' all-reduces, all devices together.</summary>
    public static long TotalBytes(StepSizes s) => s.Layer is { Block: { } b } l && Shared(s, b)
        ? b.KvHeads * PlanCost.RingAllReduce(s.Devices / b.KvHeads, Elements(l, b))
        : 0;

    public static int Calls(CollectiveOp op, StepSizes s) =>
        op == CollectiveOp.AllReduce && s.Layer is { Block: { } b } && Shared(s, b) ? b.KvHeads : 0;

    /// <summary>
    /// The words, on a fixed device count with fewer KV heads than devices; null otherwise (also while the device
    /// count or the KV head count is open: the split is not known yet).
    /// </summary>
    public static string? Words(StepContext c)
    {
        if (c.Layer is not { Block: { } b } l || !c.Text.Fixed || b.KvHeads <= 0 || b.KvHeads >= c.Text.Devices) return null;
        int group = c.Text.Devices / b.KvHeads;
        string elements = l.InFeatures > 0 && b.HeadDim(l.InFeatures) > 0 ? PlanText.N(Elements(l, b)) : "(hidden + 1)·2·headDim";
        string heads = b.KvHeads == 1 ? "the KV head is" : $"each of the {PlanText.N(b.KvHeads)} KV heads is";
        return $"Shared key/value heads: {heads} on {PlanText.N(group)} devices, each with its own query heads' part " +
            $"of its gradient: one all-reduce per KV head within its devices at the step's backward, [{elements}] elements, " +
            $"2(g−1)/g of them per device (g = {PlanText.N(group)}).";
    }
}
