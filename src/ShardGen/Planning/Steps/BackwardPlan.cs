using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>One call of a generated ForwardBackward's backward: a forward step's backward, in reverse plan order.</summary>
internal readonly struct BackwardStep
{
    public BackwardStep(int index, StepType type, bool allReducesInput)
    {
        Index = index;
        Type = type;
        AllReducesInput = allReducesInput;
    }

    /// <summary>The forward step this is the backward of.</summary>
    public int Index { get; }

    public StepType Type { get; }

    public StepBackward Backward => Type.Backward;

    /// <summary>
    /// True when the input's gradient is all-reduced after the call: the step is a column-parallel launch whose input
    /// was used as it is on every device (Megatron's f, identity forward, all-reduce backward).
    /// </summary>
    public bool AllReducesInput { get; }
}

/// <summary>
/// The backward of a plan: every step's backward in reverse order (a stack's loop body reversed inside its reversed
/// loop), each step's from its catalog entry. Both the generated ForwardBackward and <c>model.Plan</c>'s backward
/// figures come from here.
/// </summary>
internal static class BackwardPlan
{
    /// <summary>True when every step has a generated backward call (language models; a float model is <see cref="SupportedLinear"/>).</summary>
    public static bool Supported(IReadOnlyList<PlanStep> steps)
    {
        foreach (var step in steps)
            if (step.Type.Backward.Call == BackwardCall.None) return false;
        return steps.Count > 0;
    }

    /// <summary>
    /// True when a float[,] model has a generated Backward: its layers are linear (column, row, SUMMA) or transformer
    /// blocks, every step but the host transfers has a backward method, and no slice hands its whole gradient to a
    /// gather whose conjugate sums per-device gradients.
    /// </summary>
    public static bool SupportedLinear(IReadOnlyList<LayerSpec> layers, IReadOnlyList<PlanStep> steps)
    {
        if (steps.Count == 0) return false;
        foreach (var layer in layers)
            if (layer.Strategy is not (ParallelStrategy.ColumnParallel or ParallelStrategy.RowParallel or ParallelStrategy.Summa2D
                or ParallelStrategy.TransformerBlock)) return false;
        for (int k = 0; k < steps.Count; k++)
        {
            var type = steps[k].Type;
            if (type.Call is StepCall.Upload or StepCall.Download) continue;
            if (type.Backward.Call == BackwardCall.None) return false;
            // A replicated gradient (the same on every device) into a conjugate that sums per-device gradients would count it P times.
            if (type.Input.Kind == PlacementKind.Replicated && !type.IsInPlace && !type.Backward.GivesPartialSums && k > 0
                && steps[PlacementPlanner.Producer(steps, k - 1)].Type.Backward.TakesPartialSums) return false;
        }
        return true;
    }

    /// <summary>A float model's backward calls between devices: <see cref="Of"/> without the host transfers (the gradient's upload and download).</summary>
    public static BackwardStep[] OfLinear(IReadOnlyList<PlanStep> steps)
    {
        var all = Of(steps);
        var result = new List<BackwardStep>(all.Length);
        foreach (var b in all)
            if (b.Type.Call is not (StepCall.Upload or StepCall.Download)) result.Add(b);
        return result.ToArray();
    }

    /// <summary>The backward's calls in the order they run: the plan's steps from last to first.</summary>
    public static BackwardStep[] Of(IReadOnlyList<PlanStep> steps)
    {
        var result = new BackwardStep[steps.Count];
        for (int k = steps.Count - 1; k >= 0; k--)
        {
            var type = steps[k].Type;
            // A partial dX is all-reduced unless the input's producer takes partial sums (an all-gather: its conjugate
            // reduce-scatter sums them).
            bool allReduce = type.Backward.GivesPartialSums
                && !(k > 0 && steps[PlacementPlanner.Producer(steps, k - 1)].Type.Backward.TakesPartialSums);
            result[steps.Count - 1 - k] = new BackwardStep(k, type, allReduce);
        }
        return result;
    }

    /// <summary>The collective that all-reduces a partial dX (the conjugate of Megatron's f): the forward's all-reduce.</summary>
    public static StepType InputAllReduce => StepCatalog.Get<AllReduce>();

    /// <summary>Bytes <paramref name="b"/> sends between devices, all devices together, on the sizes of its forward step.</summary>
    public static long TotalBytes(BackwardStep b, StepSizes s) =>
        (b.Backward.Conjugate?.TotalBytes(s) ?? 0) + (b.AllReducesInput ? InputAllReduce.TotalBytes(s) : 0) + b.Type.BackwardTotalBytes(s);

    /// <summary>Collective calls of <paramref name="op"/> that <paramref name="b"/> issues.</summary>
    public static int Calls(BackwardStep b, CollectiveOp op, StepSizes s) =>
        (b.Backward.Conjugate?.Calls(op, s) ?? 0) + (b.AllReducesInput ? InputAllReduce.Calls(op, s) : 0) + b.Type.BackwardCalls(op, s);

    /// <summary>
    /// The backward of <paramref name="b"/> in words, one sentence a line: what it computes, and for a collective the
    /// conjugate and its bytes per device (the generated ForwardBackward's comment and <c>model.Plan</c>'s line).
    /// </summary>
    public static IEnumerable<string> Comment(BackwardStep b, StepContext c)
    {
        var backward = b.Backward;
        string name = c.Layer is { } layer ? (c.Step.InStack ? $" ({layer.Name}[i])" : $" ({layer.Name})") : "";
        string head = $"Backward of step {PlanText.N(b.Index + 1)}{name}: {backward.Text}";
        if (backward.Conjugate is { } conjugate)
            yield return $"{head} [T, {c.FText}]: {c.Text.PerDevice(conjugate.BytesFormula, Bytes(b, c), c.F, name: c.FName)}.";
        else
            yield return backward.Call == BackwardCall.Identity ? $"{head}; no collective." : $"{head}.";
        if (b.AllReducesInput)
            yield return $"Then all-reduce of dX [T, {c.FText}] (Megatron's f: identity forward, all-reduce backward): " +
                $"{c.Text.PerDevice(InputAllReduce.BytesFormula, Bytes(b, c), c.F, name: c.FName)}.";
        if (b.Type.BackwardCollectives(c) is { } collectives) yield return collectives;
    }

    /// <summary>
    /// Bytes of <paramref name="b"/>'s conjugate and all-reduce of dX for one token, all devices together, when the
    /// device count is fixed (else 0): the figures of its words' T·F formulas.
    /// </summary>
    private static long Bytes(BackwardStep b, StepContext c)
    {
        if (!c.Text.Fixed) return 0;
        var s = new StepSizes(c.Step, c.Layer, c.Text.Devices, 1);
        return (b.Backward.Conjugate?.TotalBytes(s) ?? 0) + (b.AllReducesInput ? InputAllReduce.TotalBytes(s) : 0);
    }
}
