using ShardGen.Collectives;
using ShardGen.Planning;

namespace ShardGen.Diagrams;

/// <summary>The plan drawing's colours and legend words: one fill per activation placement, one colour per collective kind.</summary>
internal static class DiagramPalette
{
    /// <summary>The legend's order of the placements.</summary>
    public static readonly Placement[] PlacementOrder =
        { Placement.Host, Placement.Replicated, Placement.ColumnShards, Placement.Partial, Placement.Grid2D, Placement.TokenShards, Placement.HeadShards };

    public static string PlacementText(Placement l) => l switch
    {
        { Kind: PlacementKind.Host } => "on the host",
        { Kind: PlacementKind.Replicated } => "replicated",
        { Axis: ShardAxis.Features } => "feature (column) shards",
        { Kind: PlacementKind.Partial } => "partial sums",
        { Axis: ShardAxis.Tokens } => "token shards",
        { Axis: ShardAxis.Heads } => "own heads' q|k|v",
        _ => "2D blocks",
    };

    public static string PlacementFill(Placement l) => l switch
    {
        { Kind: PlacementKind.Host } => "#e5e7eb",
        { Kind: PlacementKind.Replicated } => "#dbeafe",
        { Axis: ShardAxis.Features } => "#dcfce7",
        { Kind: PlacementKind.Partial } => "#fee2e2",
        { Axis: ShardAxis.Tokens } => "#e9d5ff",
        { Axis: ShardAxis.Heads } => "#cffafe",
        _ => "#fef3c7",
    };

    public static string KindStroke(CollectiveKind k) => k switch
    {
        CollectiveKind.AllReduce => "#dc2626",
        CollectiveKind.ReduceScatter => "#ea580c",
        CollectiveKind.AllGather => "#2563eb",
        CollectiveKind.Broadcast => "#7c3aed",
        _ => "#db2777",
    };

    public static string KindFill(CollectiveKind k) => k switch
    {
        CollectiveKind.AllReduce => "#fecaca",
        CollectiveKind.ReduceScatter => "#fed7aa",
        CollectiveKind.AllGather => "#bfdbfe",
        CollectiveKind.Broadcast => "#ddd6fe",
        _ => "#fbcfe8",
    };
}
