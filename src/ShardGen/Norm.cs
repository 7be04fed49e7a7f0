using ShardGen.Planning;

namespace ShardGen;

/// <summary>A standalone norm of the residual stream (the final norm before the head), replicated on every device.</summary>
public sealed class Norm : PlannedLayer
{
    internal Norm(LayerSpec spec, int index, int devices) : base(spec, index, devices) { }

    public int Hidden => Spec.InFeatures;

    public NormKind Kind => Spec.Norm;

    public float Epsilon => Spec.NormEpsilon;

    /// <summary>Scale (and LayerNorm's shift) bytes on each device.</summary>
    public override long BytesPerDevice => (long)Hidden * (Kind == NormKind.LayerNorm ? 2 : 1) * PlanCost.BytesPerElement;

    public override string ToString() => $"{Name}: {(Kind == NormKind.LayerNorm ? "LayerNorm" : "RMSNorm")} [{Hidden}], ε = {Epsilon}, replicated on {Devices} devices";
}
