using System.Collections.Generic;
using System.Linq;
using System.Text;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen;

/// <summary>Prints a <see cref="ModelPlan"/> as the table users read: layers, then forward steps with bytes.</summary>
internal static class PlanFormatter
{
    public static string Format(ModelPlan plan)
    {
        int t = plan.Tokens, p = plan.Devices;
        var sb = new StringBuilder();
        string grid = plan.Layers.Any(l => l.Spec.Strategy == ParallelStrategy.Summa2D) ? $" ({plan.GridSide}×{plan.GridSide} grid)" : "";
        string sp = plan.SequenceParallel ? ", sequence parallel" : "";
        sb.AppendLine($"Plan of {plan.ModelName} on {p} devices{grid}{sp}, bytes for T = {t} tokens (float32)");
        sb.AppendLine();
        sb.AppendLine($"  {"layer",-12} {"strategy",-18} {"weight (full)",-24} {"shard per device",-22} {"bias/device",-12} activation");
        foreach (var layer in plan.Layers)
        {
            if (layer is Linear l)
            {
                var (r, c) = l.WeightShardShape;
                string bias = l.BiasShardLength == 0 ? "-" : $"[{l.BiasShardLength}]";
                sb.AppendLine($"  {l.Name,-12} {l.Spec.StrategyText,-18} {l.Spec.WeightShapeText,-24} {$"[{r}, {c}]",-22} {bias,-12} {l.Activation}");
            }
            else if (layer is TransformerBlock b)
            {
                string heads = $"{b.Heads} heads, {b.KvHeads} KV";
                string local = $"{b.LocalHeads} heads, {b.LocalKvHeads} KV";
                sb.AppendLine($"  {b.Name,-12} {"transformer block",-18} {heads,-24} {local,-22} {b.Shape.Norm,-12} {b.Activation}");
                sb.AppendLine($"  {"",-12} {"",-18} {$"MLP {b.Hidden}→{b.FfnHidden}",-24} {$"MLP {b.Hidden}→{b.LocalFfn}",-22} {(b.Shape.Causal ? "causal" : "bidirectional")}");
            }
            else
            {
                sb.AppendLine($"  {layer}");
            }
        }
        sb.AppendLine($"  weights per device: {plan.WeightBytesPerDevice:N0} B");
        if (plan.ResidualStreamBytesPerDevice(t) > 0)
            sb.AppendLine($"  residual stream per device: {plan.ResidualStreamBytesPerDevice(t):N0} B ({(plan.SequenceParallel ? "its token block" : "all tokens")})");
        sb.AppendLine();
        // The step lines are the generated Forward's comments (one description per step, in Planning/Steps), with this
        // plan's device count; each ends with the placements it moves between and, for collectives, its bytes for T tokens.
        sb.AppendLine($"  forward steps, in the words of the generated Forward; placements and bytes per device for T = {t}:");
        var descriptions = Describe(plan);
        for (int k = 0; k < plan.Steps.Count; k++)
        {
            var s = plan.Steps[k];
            var type = s.Type;
            var lines = descriptions[k];
            sb.AppendLine($"  {$"{k + 1}.",3} {lines[0]}");
            for (int j = 1; j < lines.Count; j++) sb.AppendLine($"      {lines[j]}");
            string layout = s.From == s.To ? $"{s.From}" : $"{s.From} → {s.To}";
            int repeats = plan.Repeats(s);
            string loop = s.InStack ? $"; once per block ({repeats}×)" : "";
            string bytes = type.Communicates ? $"; {(double)plan.PredictedTotalBytes(s, t) / p:N0} B per device{(repeats > 1 ? " in all" : "")}" : "";
            sb.AppendLine($"      placements: {layout}{loop}{bytes}");
        }
        sb.AppendLine();
        sb.Append($"  per forward: {CallText(plan.PredictedCalls)}; {plan.PredictedBytesPerDevice(t):N0} B per device, {plan.PredictedTotalBytes(t):N0} B in total");
        if (plan.HasBackward) AppendBackward(sb, plan);
        return sb.ToString();
    }

    private static readonly Collectives.CollectiveKind[] Kinds =
    {
        Collectives.CollectiveKind.AllReduce, Collectives.CollectiveKind.ReduceScatter, Collectives.CollectiveKind.AllGather,
        Collectives.CollectiveKind.Broadcast, Collectives.CollectiveKind.Reduce,
    };

    /// <summary>"4 all-reduces, 1 all-gather", or "no collectives".</summary>
    private static string CallText(System.Func<Collectives.CollectiveKind, int> calls)
    {
        var text = Kinds.Select(k => (k, c: calls(k))).Where(x => x.c > 0).Select(x => $"{x.c} {TrafficReport.KindText(x.k)}{(x.c == 1 ? "" : "s")}");
        return text.Any() ? string.Join(", ", text) : "no collectives";
    }

    /// <summary>
    /// The backward of ForwardBackward: each step's backward in the order it runs, in the words of the generated
    /// comments, with its collectives' bytes; then the totals next to the forward's.
    /// </summary>
    private static void AppendBackward(StringBuilder sb, ModelPlan plan)
    {
        int t = plan.Tokens, p = plan.Devices;
        var specs = plan.Layers.Select(l => l.Spec).ToArray();
        var text = new PlanText(p);
        var variables = StepContext.VariableNames(plan.Steps);
        sb.AppendLine();
        sb.AppendLine();
        // A language model's training pass is ForwardBackward; a float model's is Backward(x, outputGradient).
        string method = plan.Layers.Any(l => l is Embedding) ? "ForwardBackward" : "Backward";
        sb.AppendLine($"  Backward ({method} after the forward), in the words of the generated {method}; bytes per device for T = {t}:");
        foreach (var b in plan.Backward)
        {
            var context = new StepContext(plan.Steps, b.Index, specs, text, variables);
            var lines = BackwardPlan.Comment(b, context).SelectMany(l => PlanText.Wrap(l, PlanText.MaxCommentWidth)).ToList();
            sb.AppendLine($"  {"←",3} {lines[0]}");
            for (int j = 1; j < lines.Count; j++) sb.AppendLine($"      {lines[j]}");
            long bytes = plan.PredictedBackwardTotalBytes(b, t);
            if (bytes > 0)
            {
                int repeats = plan.Repeats(plan.Steps[b.Index]);
                string loop = repeats > 1 || plan.Steps[b.Index].InStack ? $"once per block ({repeats}×); " : "";
                sb.AppendLine($"      {loop}{(double)bytes / p:N0} B per device{(repeats > 1 ? " in all" : "")}");
            }
        }
        sb.AppendLine();
        sb.AppendLine($"  per backward: {CallText(plan.PredictedBackwardCalls)}; {plan.PredictedBackwardBytesPerDevice(t):N0} B per device, " +
            $"{plan.PredictedBackwardTotalBytes(t):N0} B in total");
        sb.Append($"  per {method}: {plan.PredictedBytesPerDevice(t) + plan.PredictedBackwardBytesPerDevice(t):N0} B per device");
    }

    /// <summary>Each step's description from the catalog (the generated Forward's comment), with this plan's device count.</summary>
    public static IReadOnlyList<string>[] Describe(ModelPlan plan)
    {
        var specs = plan.Layers.Select(l => l.Spec).ToArray();
        var text = new PlanText(plan.Devices);
        var variables = StepContext.VariableNames(plan.Steps);
        return plan.Steps.Select((s, k) => s.Type.Describe(new StepContext(plan.Steps, k, specs, text, variables))).ToArray();
    }
}
