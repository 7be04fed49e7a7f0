using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Planning;

namespace ShardGen.Diagrams;

/// <summary>Which devices a step's collectives run among.</summary>
internal enum TrafficGroups
{
    /// <summary>One collective over the whole mesh.</summary>
    Mesh,
    /// <summary>One collective inside each grid column (entering or leaving a 2D layer).</summary>
    GridColumns,
    /// <summary>Inside each grid column, then inside each grid row (2D blocks to a replicated tensor).</summary>
    GridColumnsThenRows,
    /// <summary>SUMMA's panel broadcasts (and reduces) along grid rows and columns.</summary>
    Summa,
}

/// <summary>
/// What a plan step sends, from the plan's own predictions: the collective calls by kind, the groups they run in
/// and the bytes per device (the plan's total / P, the figure <c>model.Plan</c> prints).
/// </summary>
internal sealed record StepTraffic(IReadOnlyList<(CollectiveKind Kind, int Calls)> Calls, TrafficGroups Groups, double BytesPerDevice)
{
    /// <summary>The step's traffic, or null for a step that sends nothing between devices.</summary>
    public static StepTraffic? Of(ModelPlan plan, PlanStep step)
    {
        var calls = Enum.GetValues<CollectiveKind>()
            .Select(k => (Kind: k, Calls: plan.PredictedCalls(step, k)))
            .Where(c => c.Calls > 0).ToArray();
        if (calls.Length == 0) return null;
        bool summa = step.LayerIndex >= 0 && plan.Layers[step.LayerIndex].Spec.Strategy == ParallelStrategy.Summa2D;
        bool grid = step.From == Placement.Grid2D || step.To == Placement.Grid2D;
        var groups = summa ? TrafficGroups.Summa
            : !grid ? TrafficGroups.Mesh
            : step.To == Placement.Replicated ? TrafficGroups.GridColumnsThenRows
            : TrafficGroups.GridColumns;
        return new StepTraffic(calls, groups, (double)plan.PredictedTotalBytes(step, plan.Tokens) / plan.Devices);
    }

    /// <summary>"all-reduce · 393,216 B/device", or "broadcast ×8 · …" when the step issues several calls.</summary>
    public string Label()
    {
        string kinds = string.Join(" + ", Calls.Select(c => c.Calls == 1
            ? TrafficReport.KindText(c.Kind)
            : string.Create(CultureInfo.InvariantCulture, $"{TrafficReport.KindText(c.Kind)} ×{c.Calls}")));
        return $"{kinds} · {BytesText(BytesPerDevice)} B/device";
    }

    /// <summary>Bytes as the plan table prints them (N0), with invariant digits so the drawing is the same everywhere.</summary>
    public static string BytesText(double bytes) => bytes.ToString("N0", CultureInfo.InvariantCulture);
}
