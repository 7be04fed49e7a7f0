using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// A replicated parameter read by a step on token blocks (sequence parallelism): each device's gradient covers its own
/// tokens only, so the backward all-reduces it, one ring all-reduce per parameter at the backward's end.
/// </summary>
internal static class ReplicatedGradients
{
    private static bool OnTokenBlocks(PlanStep step) => step.From == Placement.TokenShards;

    /// <summary>Bytes of <paramref name="parameters"/> all-reduces of <paramref name="elements"/> each, all devices together.</summary>
    public static long TotalBytes(StepSizes s, int parameters, long elements) =>
        OnTokenBlocks(s.Step) ? parameters * PlanCost.RingAllReduce(s.Devices, elements) : 0;

    public static int Calls(CollectiveOp op, StepSizes s, int parameters) =>
        op == CollectiveOp.AllReduce && OnTokenBlocks(s.Step) ? parameters : 0;

    /// <summary>The words: "Sequence parallel: the partial gradients of the scale [64] are all-reduced …"; null without it.</summary>
    public static string? Words(StepContext c, int parameters, string what)
    {
        if (!OnTokenBlocks(c.Step) || parameters == 0) return null;
        string count = parameters == 1 ? "one all-reduce" : $"{PlanText.N(parameters)} all-reduces";
        return $"Sequence parallel: each device's gradient of the replicated {what} covers its own tokens only: {count} at the backward's end, " +
            "2(P−1)/P of the parameter's bytes per device each.";
    }

    /// <summary>
    /// The words of a generated backward's explicit end (<c>SumReplicatedGradients</c>, a float model's Backward or a
    /// language model's ForwardBackward): the all-reduces that
    /// the backwards of the steps on token blocks left for the end, their count and elements, a sentence a line; null when there are none
    /// (a replicated stream).
    /// </summary>
    public static string[]? EndWords(IEnumerable<StepContext> steps, PlanText text)
    {
        int calls = 0, blockCalls = 0, outsideCalls = 0;
        long elements = 0;
        bool open = false;   // a size given at load (a stack's block count, a width): no totals
        bool scales = false, shifts = false, biases = false, positions = false;
        foreach (var c in steps)
        {
            if (!OnTokenBlocks(c.Step) || c.Step.Type is not IReplicatedParameters r || c.Layer is not { } layer) continue;
            var (count, each) = r.ReplicatedParameters(layer);
            if (count == 0) continue;
            // A language model's stack: the step's backward runs once per block, each block's parameters summed.
            int repeats = c.Step.InStack ? c.Layers[c.Step.Stack].Block?.Layers ?? 0 : 1;
            if (c.Step.InStack) blockCalls += count;
            else outsideCalls += count;
            open |= repeats == 0 || each == 0;
            calls += repeats * count;
            elements += repeats * count * each;
            switch (c.Step.Type)
            {
                case PositionEmbedding: positions = true; break;
                case BlockResidualStep: biases = true; break;
                default: scales = true; shifts |= count > 1; break;
            }
        }
        if (calls == 0 && blockCalls == 0) return null;
        var what = new List<string>();
        if (scales) what.Add(shifts ? "norm scales and shifts" : "norm scales");
        if (biases) what.Add("output biases");
        if (positions) what.Add("the position table");
        string first = $"The backward's end (sequence parallel): each device's replicated parameter gradients ({string.Join(", ", what)}) cover its own tokens only.";
        if (open)
        {
            string perBlock = blockCalls == 1 ? "one all-reduce" : $"{PlanText.N(blockCalls)} all-reduces";
            return new[]
            {
                first,
                $"Summed over the devices into the gradient shards, one all-reduce per parameter: {perBlock} per block " +
                    $"and {PlanText.N(outsideCalls)} outside the stack, 2(P−1)/P of the parameter's bytes per device each (sizes from config.json at load).",
            };
        }
        string perDevice = text.Fixed
            ? $"2(P−1)/P · {PlanText.N(elements)}·4 B = {PlanText.N(PlanCost.RingAllReduce(text.Devices, elements) / text.Devices)} B per device"
            : $"2(P−1)/P · {PlanText.N(elements)}·4 B per device";
        string allReduces = calls == 1 ? "one all-reduce" : $"{PlanText.N(calls)} all-reduces";
        return new[]
        {
            first,
            $"Summed over the devices into the gradient shards: {allReduces}, {PlanText.N(elements)} elements in all, {perDevice}.",
        };
    }

    /// <summary>A norm's parameters: the scale, and LayerNorm's shift.</summary>
    public static int NormParameters(NormKind kind) => kind == NormKind.LayerNorm ? 2 : 1;
}

/// <summary>A step with replicated parameters whose gradients a sequence-parallel backward sums at its end.</summary>
internal interface IReplicatedParameters
{
    /// <summary>How many such parameters <paramref name="layer"/> has, and the elements of each.</summary>
    (int Count, long Elements) ReplicatedParameters(LayerSpec layer);
}
