using ShardGen.Planning;

namespace ShardGen;

/// <summary>
/// A pre-norm transformer block as planned on a mesh: device r holds query heads
/// [r·H/P, (r+1)·H/P) with the key/value heads they read (replicated when KvHeads &lt; P), columns
/// [r·F/P, (r+1)·F/P) of the MLP's up-projection and the matching rows of its down-projection.
/// Norm scales and the output biases are replicated.
/// </summary>
public sealed class TransformerBlock : PlannedLayer
{
    internal TransformerBlock(LayerSpec spec, int index, int devices) : base(spec, index, devices)
    {
        Shape = spec.Block!;
    }

    public TransformerSpec Shape { get; }

    public int Hidden => Spec.InFeatures;
    public int Heads => Shape.Heads;
    public int KvHeads => Shape.KvHeads;
    public int HeadDim => Shape.HeadDim(Hidden);
    public int FfnHidden => Shape.FfnHidden;
    public bool HasBias => Spec.HasBias;
    public Activation Activation => Spec.Activation;

    /// <summary>A gated MLP (SwiGLU): each device's up-projection holds its gate columns, then the same up columns.</summary>
    public bool Gated => Shape.Mlp == MlpKind.Gated;

    /// <summary>Whether the fused q|k|v projection has a bias: with every bias, or alone (Qwen2).</summary>
    public bool HasQkvBias => HasBias || Shape.QkvBias;

    /// <summary>Width of a device's MLP up-projection output: its columns, twice for a gated MLP (gate | up).</summary>
    public int LocalUpWidth => LocalFfn * (Gated ? 2 : 1);

    /// <summary>Query heads on each device.</summary>
    public int LocalHeads => Heads / Devices;

    /// <summary>Key/value heads on each device (one replicated head when KvHeads &lt; P).</summary>
    public int LocalKvHeads => Shape.LocalKvHeads(Devices);

    /// <summary>Width of a device's fused q|k|v projection.</summary>
    public int LocalQkvWidth => (LocalHeads + 2 * LocalKvHeads) * HeadDim;

    /// <summary>MLP hidden features on each device.</summary>
    public int LocalFfn => FfnHidden / Devices;

    /// <summary>Width of the fused QKV weight's output: all query, key and value heads.</summary>
    public int QkvWidth => (int)Shape.QkvWidth(Hidden);

    public override long BytesPerDevice
    {
        get
        {
            long d = Hidden, a = LocalHeads * HeadDim, up = LocalFfn * (Gated ? 2 : 1);
            long weights = d * LocalQkvWidth + a * d + d * up + LocalFfn * d;
            long biases = HasBias ? LocalQkvWidth + d + up + d : Shape.QkvBias ? LocalQkvWidth : 0;
            long norms = 2 * d * (Shape.Norm == NormKind.LayerNorm ? 2 : 1);
            return (weights + biases + norms) * PlanCost.BytesPerElement;
        }
    }

    public override string ToString() =>
        $"{Name}: transformer block, hidden {Hidden}, {Heads} heads ({KvHeads} KV) × {HeadDim}, MLP {FfnHidden}; per device {LocalHeads} heads, {LocalKvHeads} KV, MLP {LocalFfn}";
}
