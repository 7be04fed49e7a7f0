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

    /// <summary>"column-parallel", "row-parallel" or "Summa2D": the words used in messages and plans.</summary>
    public string StrategyText => Strategy switch
    {
        ParallelStrategy.ColumnParallel => "column-parallel",
        ParallelStrategy.RowParallel => "row-parallel",
        ParallelStrategy.TransformerBlock => "transformer block",
        _ => "Summa2D",
    };

    /// <summary>The full weight's shape in its declared storage layout.</summary>
    public string WeightShapeText => WeightLayout == WeightLayout.InOut
        ? $"[{InFeatures}, {OutFeatures}] (in, out)"
        : $"[{OutFeatures}, {InFeatures}] (out, in)";
}
