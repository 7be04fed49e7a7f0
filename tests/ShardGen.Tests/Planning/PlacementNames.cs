using System.Linq;
using ShardGen.Planning;

namespace ShardGen.Tests.Planning;

/// <summary>
/// Placements by their words ("partial sums", "2D blocks"): theory data names them so, as a <see cref="Placement"/> is
/// neither an attribute argument nor serializable by xunit, and the test names read as the plan does.
/// </summary>
internal static class PlacementNames
{
    public static readonly Placement[] All =
        { Placement.Host, Placement.Replicated, Placement.ColumnShards, Placement.TokenShards, Placement.HeadShards, Placement.Partial, Placement.Grid2D };

    public static Placement Named(string words) => All.Single(p => p.ToString() == words);
}
