namespace ShardGen.Planning;

/// <summary>How one linear layer is split over the mesh.</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum ParallelStrategy
{
    /// <summary>W split by output columns; input replicated; output column-sharded.</summary>
    ColumnParallel,
    /// <summary>W split by input rows; input column-sharded; output partial sums.</summary>
    RowParallel,
    /// <summary>W and X in q×q blocks; SUMMA; output in blocks.</summary>
    Summa2D,
    /// <summary>A pre-norm transformer block: attention heads and the MLP split Megatron-style, two reductions.</summary>
    TransformerBlock,
}
