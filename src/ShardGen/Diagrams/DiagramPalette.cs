using ShardGen.Collectives;
using ShardGen.Planning;

namespace ShardGen.Diagrams;

/// <summary>The plan drawing's colours and legend words: one fill per activation layout, one colour per collective kind.</summary>
internal static class DiagramPalette
{
    public static string LayoutText(TensorLayout l) => l switch
    {
        TensorLayout.Host => "on the host",
        TensorLayout.Replicated => "replicated",
        TensorLayout.ColumnSharded => "feature (column) shards",
        TensorLayout.PartialSum => "partial sums",
        TensorLayout.TokenSharded => "token shards",
        TensorLayout.Heads => "own heads' q|k|v",
        _ => "2D blocks",
    };

    public static string LayoutFill(TensorLayout l) => l switch
    {
        TensorLayout.Host => "#e5e7eb",
        TensorLayout.Replicated => "#dbeafe",
        TensorLayout.ColumnSharded => "#dcfce7",
        TensorLayout.PartialSum => "#fee2e2",
        TensorLayout.TokenSharded => "#e9d5ff",
        TensorLayout.Heads => "#cffafe",
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
