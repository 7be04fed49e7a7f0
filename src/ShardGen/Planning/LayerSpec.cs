namespace ShardGen.Planning;

/// <summary>One annotated layer as the planner sees it: plain values, no compiler symbols.</summary>
#if SHARDGEN_RUNTIME
public
#endif
sealed record LayerSpec(
    string Name,
    ParallelStrategy Strategy,
    int InFeatures,
    int OutFeatures,
    bool HasBias,
    Activation Activation,
    WeightLayout WeightLayout)
{
    /// <summary>The block's shape when <see cref="Strategy"/> is TransformerBlock (hidden = In = Out features), else null.</summary>
    public TransformerSpec? Block { get; init; }

    /// <summary>A <see cref="ParallelStrategy.FinalNorm"/>'s kind (ignored by other layers).</summary>
    public NormKind Norm { get; init; }

    /// <summary>A <see cref="ParallelStrategy.FinalNorm"/>'s ε (0: from config.json).</summary>
    public float NormEpsilon { get; init; }

    /// <summary>An <see cref="ParallelStrategy.LmHead"/> that reuses the token embedding's table (config.json's tie_word_embeddings).</summary>
    public bool Tied { get; init; }

    /// <summary>
    /// True when a size of this layer is left to config.json (written as 0 in the attribute): the runtime resolves
    /// it before planning, and the compile-time rules skip what they cannot know yet.
    /// </summary>
    public bool IsOpen => InFeatures == 0 || OutFeatures == 0 ||
        Block is { } b && (b.Heads == 0 || b.KvHeads == 0 || b.FfnHidden == 0 || b.Layers == 0 || b.Epsilon == 0 || (b.Rotary && b.RopeTheta == 0)) ||
        Strategy == ParallelStrategy.FinalNorm && NormEpsilon == 0;

    /// <summary>"column-parallel", "row-parallel" or "Summa2D": the words used in messages and plans.</summary>
    public string StrategyText => Strategy switch
    {
        ParallelStrategy.ColumnParallel => "column-parallel",
        ParallelStrategy.RowParallel => "row-parallel",
        ParallelStrategy.TransformerBlock => "transformer block",
        ParallelStrategy.VocabEmbedding => "vocab-parallel embedding",
        ParallelStrategy.PositionEmbedding => "position embedding",
        ParallelStrategy.TransformerStack => "transformer stack",
        ParallelStrategy.FinalNorm => "final norm",
        ParallelStrategy.LmHead => "LM head",
        _ => "Summa2D",
    };

    /// <summary>The full weight's shape in its declared storage layout.</summary>
    public string WeightShapeText => WeightLayout == WeightLayout.InOut
        ? $"[{InFeatures}, {OutFeatures}] (in, out)"
        : $"[{OutFeatures}, {InFeatures}] (out, in)";
}
