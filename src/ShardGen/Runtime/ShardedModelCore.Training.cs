using System;
using System.Collections.Generic;
using ShardGen.Training;

namespace ShardGen.Runtime;

// Training state of a model: its parameter slices (recorded by the loader), and on first use gradient twins loaded
// like the weights (same plan, same loader, zeros), so every gradient is sharded exactly like its weight.
public sealed partial class ShardedModelCore
{
    private Dictionary<IShardedLayer, IShardedLayer>? _gradientOf;
    private ModelTraining? _training;

    /// <summary>Where each slice of each logical parameter lives (rank by rank, in load order); empty for models not built by the loader.</summary>
    public IReadOnlyList<ParameterSlice> Slices { get; internal init; } = Array.Empty<ParameterSlice>();

    /// <summary>The model's trainable state, made on first use: gradient twins of every layer, zeroed.</summary>
    public ModelTraining Training => _training ??= ModelTraining.Create(Trainable());

    // Weights kept in BF16 are the checkpoint's own read-only bytes: no optimizer may step them.
    private ShardedModelCore Trainable()
    {
        foreach (var slice in Slices)
            if (slice.Value.Buffer?.Element is Devices.ElementType.BFloat16)
                throw new InvalidOperationException(
                    $"{Plan.ModelName} keeps its BF16 weights as the checkpoint stores them (Load(…, keepBFloat16: true)): they are read-only " +
                    $"({slice.Key} on rank {slice.Rank} and the others). Load with keepBFloat16: false to train: BF16 is then widened into float32 weights.");
        return this;
    }

    /// <summary>The gradient twin of <paramref name="layer"/> (a layer of this model, or a block of its stack).</summary>
    internal T GradientOf<T>(T layer) where T : class, IShardedLayer
    {
        _ = Training;
        // A float model's block (split from host weights) has its own twin; a loaded model's layers are mapped here.
        if (_gradientOf is null && layer is ShardedTransformerBlock block && BlockTwins().TryGetValue(block, out var blockTwin))
            return (T)(IShardedLayer)blockTwin;
        return _gradientOf is not null && _gradientOf.TryGetValue(layer, out var twin)
            ? (T)twin
            : throw new InvalidOperationException($"Layer '{layer.Layer.Name}' is not a layer of model '{Plan.ModelName}'.");
    }

    /// <summary>Pairs each layer (and each stacked block) with its twin; called once by <see cref="ModelTraining.Create"/>.</summary>
    internal void SetGradientLayers(IShardedLayer[] twins)
    {
        var map = new Dictionary<IShardedLayer, IShardedLayer>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < _layers.Length; i++)
        {
            map[_layers[i]] = twins[i];
            if (_layers[i] is ShardedStack stack)
                for (int b = 0; b < stack.Count; b++) map[stack[b]] = ((ShardedStack)twins[i])[b];
        }
        _gradientOf = map;
    }

    /// <summary>
    /// Starts a training pass: <see cref="BeginForward(int[], int[], KvCache)"/> without a cache, with one target id per
    /// input id (each in [0, Vocab)), checked first. <paramref name="gradientScale"/> scales d(Σ loss); 0 means 1/tokens.
    /// </summary>
    public ForwardPass BeginTraining(int[] inputIds, int[] targetIds, int[]? sequenceLengths, float gradientScale)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(targetIds);
        if (targetIds.Length != inputIds.Length)
            throw new ArgumentException($"{Plan.ModelName}.ForwardBackward: {targetIds.Length} target ids for {inputIds.Length} input ids; give one target per input.", nameof(targetIds));
        int vocab = Plan.Vocab;
        for (int t = 0; t < targetIds.Length; t++)
            if ((uint)targetIds[t] >= (uint)vocab)
                throw new ArgumentException(
                    $"{Plan.ModelName}.ForwardBackward: targetIds[{t}] is {targetIds[t]}, outside the vocabulary of {vocab} tokens; ids must be in [0, {vocab}).", nameof(targetIds));
        if (!float.IsFinite(gradientScale) || gradientScale < 0)
            throw new ArgumentOutOfRangeException(nameof(gradientScale), gradientScale, "The gradient scale must be finite and ≥ 0 (0: 1/tokens).");
        _ = Training;
        var pass = BeginForward(inputIds, sequenceLengths, null);
        pass.StartTraining(targetIds, gradientScale == 0 ? 1f / inputIds.Length : gradientScale);
        return pass;
    }
}
