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

    private ModelTraining(ShardedModelCore core, IShardedLayer[] gradientLayers, IReadOnlyList<ParameterSlice> parameters, IReadOnlyList<ParameterSlice> gradients)
    {
        _core = core;
        _gradientLayers = gradientLayers;
        Parameters = parameters;
        Gradients = gradients;
        if (gradients.Count != parameters.Count)
            throw new InvalidOperationException($"Model '{core.Plan.ModelName}': {gradients.Count} gradient slices for {parameters.Count} parameter slices.");
    }

    /// <summary>Each device's slices of every parameter (what the loader read, rank by rank; for a float model, layer by layer as Split cut them).</summary>
    public IReadOnlyList<ParameterSlice> Parameters { get; }

    /// <summary>True for a float model (linear layers split from host weights): its gradients are the Backward's twins.</summary>
    internal bool IsFloatModel { get; private init; }

    /// <summary>The gradient of <see cref="Parameters"/>[i] in slice i, same device, same shape.</summary>
    public IReadOnlyList<ParameterSlice> Gradients { get; }

    /// <summary>The model this state belongs to.</summary>
    public ShardedModelCore Core => _core;

    internal static ModelTraining Create(ShardedModelCore core)
    {
        if (core.Slices.Count == 0 && core.LinearSlices() is { } linear)
            return new ModelTraining(core, Array.Empty<IShardedLayer>(), linear.Parameters, linear.Gradients) { IsFloatModel = true };
        if (core.Slices.Count == 0)
            throw new InvalidOperationException($"Model '{core.Plan.ModelName}' has no recorded parameters: training needs a model made by Load or Create from an IWeightSource.");
        var (layers, slices) = LanguageModelLoader.UploadZeros(core.Mesh, core.Plan, core.Slices);
        var training = new ModelTraining(core, layers, core.Slices, slices);
        core.SetGradientLayers(layers);
        return training;
    }

    /// <summary>Frees the gradient twins and the step's kept buffers (with the model).</summary>
    internal void Dispose()
    {
        DisposeBuffers();
        for (int i = _gradientLayers.Length - 1; i >= 0; i--) _gradientLayers[i]?.Dispose();
    }
}
