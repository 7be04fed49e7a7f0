using System;

namespace ShardGen;

/// <summary>Common options of the three linear-layer strategies: <c>Y = act(X·W + b)</c>, X is [tokens, in].</summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public abstract class LinearLayerAttribute : Attribute
{
    private protected LinearLayerAttribute(int inFeatures, int outFeatures)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>Width of the layer's input (columns of X, rows of W).</summary>
    public int InFeatures { get; }

    /// <summary>Width of the layer's output (columns of W and Y).</summary>
    public int OutFeatures { get; }

    /// <summary>Whether the layer has a bias vector of length <see cref="OutFeatures"/>. Default true.</summary>
    public bool Bias { get; set; } = true;

    /// <summary>Elementwise function applied after the bias. Default <see cref="ShardGen.Activation.None"/>.</summary>
    public Activation Activation { get; set; } = Activation.None;

    /// <summary>How the full weight passed to <see cref="LinearWeights"/> is stored. Default [in, out].</summary>
    public WeightLayout WeightLayout { get; set; } = WeightLayout.InOut;
}

/// <summary>
/// Column-parallel (Megatron) linear layer: W is split by output columns, every device sees all of X,
/// computes its slice of Y and applies bias and activation locally. The output stays sharded.
/// </summary>
public sealed class ColumnParallelAttribute : LinearLayerAttribute
{
    public ColumnParallelAttribute(int inFeatures, int outFeatures) : base(inFeatures, outFeatures) { }
}

/// <summary>
/// Row-parallel (Megatron) linear layer: W is split by input rows, every device needs its slice of X's
/// columns; partial sums are reduced, then the bias is added once and the activation applied.
/// </summary>
public sealed class RowParallelAttribute : LinearLayerAttribute
{
    public RowParallelAttribute(int inFeatures, int outFeatures) : base(inFeatures, outFeatures) { }
}

/// <summary>
/// SUMMA 2D linear layer on a q×q device grid: X and W are split in q×q blocks and SUMMA steps broadcast
/// panels along grid rows and columns. With <see cref="WeightLayout.OutIn"/> the A·Bᵀ variant is used.
/// </summary>
public sealed class Summa2DAttribute : LinearLayerAttribute
{
    public Summa2DAttribute(int inFeatures, int outFeatures) : base(inFeatures, outFeatures) { }
}
