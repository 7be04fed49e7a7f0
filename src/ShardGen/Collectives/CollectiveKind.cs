namespace ShardGen.Collectives;

/// <summary>The collectives ShardGen inserts between layers (and SUMMA uses inside a 2D layer).</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum CollectiveKind
{
    AllReduce,
    AllGather,
    ReduceScatter,
    Broadcast,
    Reduce,
}
