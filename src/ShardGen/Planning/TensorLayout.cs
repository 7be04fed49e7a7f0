namespace ShardGen.Planning;

/// <summary>Where the pieces of an activation [tokens, features] live between two steps.</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum TensorLayout
{
    /// <summary>On the host, whole (the model's input and output).</summary>
    Host,
    /// <summary>Every device holds all of it.</summary>
    Replicated,
    /// <summary>Device r holds feature columns [r·F/P, (r+1)·F/P), all tokens.</summary>
    ColumnSharded,
    /// <summary>Every device holds a [tokens, F] partial sum; the value is their sum.</summary>
    PartialSum,
    /// <summary>Device (i, j) of the q×q grid holds token block i × feature block j.</summary>
    Blocks2D,
    /// <summary>Device r holds token block r, all features (sequence parallelism).</summary>
    TokenSharded,
    /// <summary>Device r holds the fused q|k|v projections of its own attention heads, all tokens.</summary>
    Heads,
}
