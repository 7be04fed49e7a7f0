using System;

namespace ShardGen.Planning;

/// <summary>How an activation [tokens, features] is placed on the devices (PyTorch DTensor's idea, Megatron's words).</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum PlacementKind
{
    /// <summary>On the host, whole: the model's input and output.</summary>
    Host,
    /// <summary>Every device holds all of it.</summary>
    Replicated,
    /// <summary>Device r holds the r-th slice along one axis.</summary>
    Shard,
    /// <summary>Every device holds a partial sum of the whole; the value is their sum.</summary>
    Partial,
    /// <summary>Device (i, j) of the q×q grid holds token block i × feature block j.</summary>
    Grid2D,
}

/// <summary>The axis a <see cref="PlacementKind.Shard"/> placement splits.</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum ShardAxis
{
    None,
    /// <summary>Feature columns (Megatron's column-parallel output).</summary>
    Features,
    /// <summary>Token rows (sequence parallelism).</summary>
    Tokens,
    /// <summary>Whole attention heads: each device's q|k|v.</summary>
    Heads,
}

/// <summary>
/// A placement: what is split along which axis, or summed. Transitions between two placements follow from them
/// (<see cref="Transitions.Between"/>), never from a name per pair.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
readonly struct Placement : IEquatable<Placement>
{
    private Placement(PlacementKind kind, ShardAxis axis) { Kind = kind; Axis = axis; }

    public PlacementKind Kind { get; }

    public ShardAxis Axis { get; }

    public static Placement Host => new(PlacementKind.Host, ShardAxis.None);
    public static Placement Replicated => new(PlacementKind.Replicated, ShardAxis.None);
    public static Placement Partial => new(PlacementKind.Partial, ShardAxis.None);
    public static Placement Grid2D => new(PlacementKind.Grid2D, ShardAxis.None);
    public static Placement Shard(ShardAxis axis) => new(PlacementKind.Shard, axis);

    /// <summary>Shards along the features: device r holds feature columns [r·F/P, (r+1)·F/P) (Megatron's column-parallel output).</summary>
    public static Placement ColumnShards => Shard(ShardAxis.Features);

    /// <summary>Shards along the tokens: device r holds token block r (sequence parallelism).</summary>
    public static Placement TokenShards => Shard(ShardAxis.Tokens);

    /// <summary>Shards along the heads: device r holds the fused q|k|v of its own attention heads.</summary>
    public static Placement HeadShards => Shard(ShardAxis.Heads);

    /// <summary>True for placements that live on the devices (everything but the host).</summary>
    public bool OnDevices => Kind != PlacementKind.Host;

    public bool Equals(Placement other) => Kind == other.Kind && Axis == other.Axis;
    public override bool Equals(object? obj) => obj is Placement other && Equals(other);
    public override int GetHashCode() => ((int)Kind * 8) + (int)Axis;
    public static bool operator ==(Placement a, Placement b) => a.Equals(b);
    public static bool operator !=(Placement a, Placement b) => !a.Equals(b);

    /// <summary>The placement in the plan's words: "replicated", "column shards", "partial sums", …</summary>
    public override string ToString() => Kind switch
    {
        PlacementKind.Host => "host",
        PlacementKind.Replicated => "replicated",
        PlacementKind.Partial => "partial sums",
        PlacementKind.Grid2D => "2D blocks",
        _ => Axis switch
        {
            ShardAxis.Features => "column shards",
            ShardAxis.Tokens => "token shards",
            _ => "own heads' q|k|v",
        },
    };
}
