using ShardGen.Planning;

namespace ShardGen;

/// <summary>
/// A linear layer of a sharded model as planned on a mesh: its declaration and the shard each device holds.
/// The generated model exposes one per annotated property (e.g. <c>model.Up</c>).
/// </summary>
public sealed class Linear : PlannedLayer
{
    internal Linear(LayerSpec spec, int index, int devices) : base(spec, index, devices)
    {
        int p = devices, q = PlanCost.GridSide(devices);
        (int inPart, int outPart) = spec.Strategy switch
        {
            ParallelStrategy.ColumnParallel => (spec.InFeatures, spec.OutFeatures / p),
            ParallelStrategy.RowParallel => (spec.InFeatures / p, spec.OutFeatures),
            // The vocabulary need not divide: device 0 holds the largest range (EvenRanges).
            ParallelStrategy.LmHead => (spec.InFeatures, EvenRanges.Length(spec.OutFeatures, p, 0)),
            _ => (spec.InFeatures / q, spec.OutFeatures / q),
        };
        ShardInFeatures = inPart;
        ShardOutFeatures = outPart;
        // A row-parallel bias is added after the reduction, so every device keeps it whole.
        BiasShardLength = !spec.HasBias ? 0 : spec.Strategy == ParallelStrategy.RowParallel ? spec.OutFeatures : outPart;
    }

    public ParallelStrategy Strategy => Spec.Strategy;
    public bool HasBias => Spec.HasBias;
    public Activation Activation => Spec.Activation;
    public WeightLayout WeightLayout => Spec.WeightLayout;

    /// <summary>Input features of each device's weight shard.</summary>
    public int ShardInFeatures { get; }

    /// <summary>Output features of each device's weight shard.</summary>
    public int ShardOutFeatures { get; }

    /// <summary>Each device's weight shard in the declared storage layout: [in, out] or [out, in].</summary>
    public (int Rows, int Cols) WeightShardShape => WeightLayout == WeightLayout.InOut
        ? (ShardInFeatures, ShardOutFeatures)
        : (ShardOutFeatures, ShardInFeatures);

    /// <summary>Bias elements on each device (0 without a bias).</summary>
    public int BiasShardLength { get; }

    /// <summary>The first output feature device <paramref name="rank"/> computes: an even split, or the LM head's vocabulary range.</summary>
    public int FirstOutFeature(int rank) => Strategy == ParallelStrategy.LmHead
        ? EvenRanges.Start(OutFeatures, Devices, rank)
        : rank * ShardOutFeatures;

    /// <summary>Output features device <paramref name="rank"/> computes (the LM head's ranges may differ by one).</summary>
    public int OutFeaturesOf(int rank) => Strategy == ParallelStrategy.LmHead
        ? EvenRanges.Length(OutFeatures, Devices, rank)
        : ShardOutFeatures;

    /// <summary>True for an LM head that reuses the token embedding's rows (no weight of its own).</summary>
    public bool Tied => Spec.Tied;

    /// <summary>Weight and bias bytes on each device (the largest shard; a tied head's weight is the embedding's).</summary>
    public override long BytesPerDevice => ((Tied ? 0 : (long)ShardInFeatures * ShardOutFeatures) + BiasShardLength) * PlanCost.BytesPerElement;

    public override string ToString() =>
        $"{Name}: {Spec.StrategyText} {Spec.WeightShapeText} → shard [{WeightShardShape.Rows}, {WeightShardShape.Cols}] on each of {Devices} devices";
}
