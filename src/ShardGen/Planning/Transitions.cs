using System.Collections.Generic;
using ShardGen.Planning.Steps;

namespace ShardGen.Planning;

/// <summary>
/// The steps that move an activation from one placement to another, derived from the placements and the catalog's
/// transition steps (never named pair by pair): a catalog step that goes there directly; else, from partial sums, the
/// reduction onto what the consumer shards (reduce-scatter onto its axis, or all-reduce); else through the replicated
/// tensor (all-gather along the source's axis, then a slice along the target's).
/// </summary>
internal static class Transitions
{
    /// <summary>
    /// The catalog types of the steps from <paramref name="from"/> to <paramref name="to"/>, in order. When
    /// <paramref name="from"/> holds partial sums, the first step is the reduction (bias and activation go after it).
    /// </summary>
    public static List<StepType> Between(Placement from, Placement to)
    {
        var types = new List<StepType>();
        Route(from, to, types);
        return types;
    }

    private static void Route(Placement from, Placement to, List<StepType> types)
    {
        if (from == to) return;
        if (Direct(from, to) is { } direct)
        {
            types.Add(direct);
            return;
        }
        if (from.Kind == PlacementKind.Partial)
        {
            // Reduce onto what the consumer shards: half the bytes of an all-reduce when it takes shards.
            var reduced = to.Kind switch
            {
                PlacementKind.Shard => to,
                PlacementKind.Grid2D => Placement.Shard(ShardAxis.Features),
                _ => Placement.Replicated,
            };
            types.Add(Direct(from, reduced)!);
            Route(reduced, to, types);
            return;
        }
        // No direct step: gather to the whole tensor, then slice.
        if (from.Kind == PlacementKind.Replicated || to.Kind == PlacementKind.Replicated)
            throw new System.InvalidOperationException($"No step moves {from} to {to}: add a transition step to Planning/Steps.");
        Route(from, Placement.Replicated, types);
        Route(Placement.Replicated, to, types);
    }

    /// <summary>The catalog's transition (or upload, or download) from <paramref name="from"/> straight to <paramref name="to"/>, if any.</summary>
    private static StepType? Direct(Placement from, Placement to)
    {
        foreach (var type in StepCatalog.All)
        {
            if (type.Output != to || !type.MovesData) continue;
            // Download reads any device placement but partial sums, which are reduced first.
            if (type.AcceptsAnyInput ? from.OnDevices && from.Kind != PlacementKind.Partial : type.Input == from) return type;
        }
        return null;
    }
}
