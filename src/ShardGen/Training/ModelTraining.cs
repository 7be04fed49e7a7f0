using System;
using System.Collections.Generic;
using ShardGen.Runtime;

namespace ShardGen.Training;

/// <summary>
/// A model's trainable state: its parameter slices and, slice for slice, the gradient slices (twins of the layers,
/// loaded like the weights from zeros, so each gradient is sharded exactly like its weight). Optimizers update
/// <see cref="Parameters"/>[i] from <see cref="Gradients"/>[i].
/// </summary>
public sealed partial class ModelTraining
{
    private readonly ShardedModelCore _core;
    private readonly IShardedLayer[] _gradientLayers;

    private ModelTraining(ShardedModelCore core, IShardedLayer[] gradientLayers, IReadOnlyList<ParameterSlice> gradients)
    {
        _core = core;
        _gradientLayers = gradientLayers;
        Gradients = gradients;
        if (gradients.Count != core.Slices.Count)
            throw new InvalidOperationException($"Model '{core.Plan.ModelName}': {gradients.Count} gradient slices for {core.Slices.Count} parameter slices.");
    }

    /// <summary>Each device's slices of every parameter (what the loader read), rank by rank.</summary>
    public IReadOnlyList<ParameterSlice> Parameters => _core.Slices;

    /// <summary>The gradient of <see cref="Parameters"/>[i] in slice i, same device, same shape.</summary>
    public IReadOnlyList<ParameterSlice> Gradients { get; }

    /// <summary>The model this state belongs to.</summary>
    public ShardedModelCore Core => _core;

    internal static ModelTraining Create(ShardedModelCore core)
    {
        if (core.Slices.Count == 0)
            throw new InvalidOperationException($"Model '{core.Plan.ModelName}' has no recorded parameters: training needs a model made by Load or Create from an IWeightSource.");
        var (layers, slices) = LanguageModelLoader.UploadZeros(core.Mesh, core.Plan);
        var training = new ModelTraining(core, layers, slices);
        core.SetGradientLayers(layers);
        return training;
    }

    /// <summary>Frees the gradient twins (with the model).</summary>
    internal void Dispose()
    {
        for (int i = _gradientLayers.Length - 1; i >= 0; i--) _gradientLayers[i]?.Dispose();
    }
}
