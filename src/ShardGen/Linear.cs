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

    /// <summary>Weight and bias bytes on each device.</summary>
    public override long BytesPerDevice => ((long)ShardInFeatures * ShardOutFeatures + BiasShardLength) * PlanCost.BytesPerElement;

    public override string ToString() =>
        $"{Name}: {Spec.StrategyText} {Spec.WeightShapeText} → shard [{WeightShardShape.Rows}, {WeightShardShape.Cols}] on each of {Devices} devices";
}
