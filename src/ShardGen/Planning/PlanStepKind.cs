namespace ShardGen.Planning;

/// <summary>One line of a generated Forward: a host transfer, a layer launch, a collective or a local step.</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum PlanStepKind
{
    // Host to devices.
    UploadReplicated,
    UploadColumnShards,
    UploadBlocks,
    UploadTokenShards,

    // A language model's layers around its transformer stack: the vocab-parallel token lookup (partial sums, reduced
    // next), learned positions added to the stream, the final norm and the LM head (column-parallel over the vocabulary).
    TokenEmbedding,
    PositionEmbedding,
    FinalNorm,
    LmHead,

    // Layer launches (local GEMMs; Summa2D also broadcasts panels inside its grid).
    ColumnParallel,
    RowParallel,
    Summa2D,

    // A row-parallel layer's bias and activation, once its partial sums are reduced.
    BiasActivation,

    // A transformer block, in order: attention half, then MLP half. Residual adds take the bias of the
    // row-parallel projection once, after the reduction, plus the residual stream (PlanStep.ResidualStep).
    AttentionNorm,
    QkvProjection,
    Attention,
    AttentionOutput,
    AttentionResidual,
    MlpNorm,
    MlpUp,
    MlpDown,
    MlpResidual,

    // Collectives over the whole mesh. ReduceScatter scatters onto an axis (features, or tokens after a sequence-parallel
    // region); AllGather gathers along the axis its input is sharded on (features, or tokens before such a region).
    AllReduce,
    ReduceScatter,
    AllGather,

    // Collectives inside grid columns / rows, entering or leaving a 2D layer.
    ColumnShardsToBlocks,
    BlocksToColumnShards,
    BlocksToReplicated,

    // Local re-layout onto shards along an axis or 2D blocks: each device keeps the piece it needs; nothing is sent.
    Slice,

    // Devices to host.
    Download,
}
