using ShardGen.Planning;

namespace ShardGen;

/// <summary>A layer of a sharded model as planned on a mesh: a <see cref="Linear"/> or a <see cref="TransformerBlock"/>.</summary>
public abstract class PlannedLayer
{
    private protected PlannedLayer(LayerSpec spec, int index, int devices)
    {
        Spec = spec;
        Index = index;
        Devices = devices;
    }

    public LayerSpec Spec { get; }

    /// <summary>Position in forward order.</summary>
    public int Index { get; }

    public string Name => Spec.Name;

    public int InFeatures => Spec.InFeatures;

    public int OutFeatures => Spec.OutFeatures;

    /// <summary>Devices the layer is split over.</summary>
    public int Devices { get; }

    /// <summary>Parameter bytes (weights, biases, norm scales) each device holds.</summary>
    public abstract long BytesPerDevice { get; }
}
