using System.Linq;
using System.Text;
using ShardGen.Planning;

namespace ShardGen;

/// <summary>Prints a <see cref="ModelPlan"/> as the table users read: layers, then forward steps with bytes.</summary>
internal static class PlanFormatter
{
    public static string Format(ModelPlan plan)
    {
        int t = plan.Tokens, p = plan.Devices;
        var sb = new StringBuilder();
        string grid = plan.Layers.Any(l => l.Strategy == ParallelStrategy.Summa2D) ? $" ({plan.GridSide}×{plan.GridSide} grid)" : "";
        sb.AppendLine($"Plan of {plan.ModelName} on {p} devices{grid}, bytes for T = {t} tokens (float32)");
        sb.AppendLine();
        sb.AppendLine($"  {"layer",-12} {"strategy",-16} {"weight (full)",-24} {"shard per device",-18} {"bias/device",-12} activation");
        foreach (var l in plan.Layers)
        {
            var (r, c) = l.WeightShardShape;
            string bias = l.BiasShardLength == 0 ? "-" : $"[{l.BiasShardLength}]";
            sb.AppendLine($"  {l.Name,-12} {l.Spec.StrategyText,-16} {l.Spec.WeightShapeText,-24} {$"[{r}, {c}]",-18} {bias,-12} {l.Activation}");
        }
        sb.AppendLine($"  weights per device: {plan.WeightBytesPerDevice:N0} B");
        sb.AppendLine();
        sb.AppendLine($"  {"#",2} {"step",-44} {"layout",-30} {"bytes/device",14}");
        int n = 1;
        foreach (var s in plan.Steps)
        {
            long total = plan.PredictedTotalBytes(s, t);
            string bytes = s.IsCollective || s.Kind == PlanStepKind.Summa2D ? $"{(double)total / p:N0}" : "-";
            string layout = s.From == s.To ? Layout(s.From) : $"{Layout(s.From)} → {Layout(s.To)}";
            sb.AppendLine($"  {n++,2} {Describe(plan, s),-44} {layout,-30} {bytes,14}");
        }
        sb.AppendLine();
        var calls = new[] { Collectives.CollectiveKind.AllReduce, Collectives.CollectiveKind.ReduceScatter, Collectives.CollectiveKind.AllGather,
                            Collectives.CollectiveKind.Broadcast, Collectives.CollectiveKind.Reduce }
            .Select(k => (k, c: plan.PredictedCalls(k))).Where(x => x.c > 0)
            .Select(x => $"{x.c} {TrafficReport.KindText(x.k)}{(x.c == 1 ? "" : "s")}");
        string callText = calls.Any() ? string.Join(", ", calls) : "no collectives";
        sb.Append($"  per forward: {callText}; {plan.PredictedBytesPerDevice(t):N0} B per device, {plan.PredictedTotalBytes(t):N0} B in total");
        return sb.ToString();
    }

    /// <summary>One line of words for a step, e.g. "all-reduce (ring) of Down's partial sums".</summary>
    public static string Describe(ModelPlan plan, PlanStep s)
    {
        string Layer() => plan.Layers[s.LayerIndex].Name;
        return s.Kind switch
        {
            PlanStepKind.UploadReplicated => "upload X to every device",
            PlanStepKind.UploadColumnShards => "upload X's column shards",
            PlanStepKind.UploadBlocks => "upload X's 2D blocks",
            PlanStepKind.ColumnParallel => $"{Layer()}: GEMM + bias + activation",
            PlanStepKind.RowParallel => $"{Layer()}: GEMM → partial sums",
            PlanStepKind.Summa2D => $"{Layer()}: SUMMA {(plan.Layers[s.LayerIndex].WeightLayout == WeightLayout.OutIn ? "A·Bᵀ" : "A·B")} + bias + activation",
            PlanStepKind.BiasActivation => $"{Layer()}: bias + activation after reduction",
            PlanStepKind.AllReduce => "all-reduce (ring)",
            PlanStepKind.ReduceScatter => "reduce-scatter (ring)",
            PlanStepKind.AllGather => "all-gather (ring)",
            PlanStepKind.ColumnShardsToBlocks => "all-gather in grid columns → blocks",
            PlanStepKind.BlocksToColumnShards => "all-gather in grid columns → shards",
            PlanStepKind.BlocksToReplicated => "all-gather in grid columns, then rows",
            PlanStepKind.SliceColumns => "keep own column shard (local)",
            PlanStepKind.SliceBlocks => "keep own 2D block (local)",
            _ => "download to host",
        };
    }

    private static string Layout(TensorLayout l) => l switch
    {
        TensorLayout.Host => "host",
        TensorLayout.Replicated => "replicated",
        TensorLayout.ColumnSharded => "column shards",
        TensorLayout.PartialSum => "partial sums",
        _ => "2D blocks",
    };
}
