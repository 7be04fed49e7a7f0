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
    /// <summary>A token embedding [vocab, hidden] split by vocabulary rows (Megatron's VocabParallelEmbedding): each
    /// device looks up the ids in its own row range (zeros outside it), then one reduction. In = vocab, Out = hidden.</summary>
    VocabEmbedding,
    /// <summary>Learned position embeddings [positions, hidden] (GPT-2), replicated, added to the residual stream.
    /// In = positions, Out = hidden.</summary>
    PositionEmbedding,
    /// <summary>A stack of identical pre-norm transformer blocks (count from the attribute or config.json). In = Out = hidden.</summary>
    TransformerStack,
    /// <summary>A standalone norm of the residual stream (the final norm before the head), replicated. In = Out = hidden.</summary>
    FinalNorm,
    /// <summary>The language-model head [hidden, vocab], column-parallel over the vocabulary (uneven shards when the
    /// vocabulary does not divide), tied to the embedding when config.json says so. In = hidden, Out = vocab.</summary>
    LmHead,
}
