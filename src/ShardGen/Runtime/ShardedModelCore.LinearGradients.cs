using System;
using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Training;

namespace ShardGen.Runtime;

// Gradients of a float model (linear layers built by ShardedLinear.Split*, not by the loader): each layer's twin is
// split from zero weights of the same shape by the same Split method, so every gradient is sharded exactly like its
// weight. Their slices line up with the layers' (LinearSlices), which is what a float model's ModelTraining steps.
public sealed partial class ShardedModelCore
{
    private Dictionary<ShardedLinear, ShardedLinear>? _linearGradients;

    /// <summary>
    /// Starts a training pass of a float model: <see cref="BeginForward(float[,])"/> with the forward's activations kept
    /// for the backward, and <paramref name="outputGradient"/> (dLoss/dY, [tokens, the last layer's out features]) for
    /// the pass's UploadGradient. The backward accumulates into the gradient twins (<see cref="Gradients"/>).
    /// </summary>
    public ForwardPass BeginTraining(float[,] x, float[,] outputGradient) => BeginTraining(x, outputGradient, null);

    /// <summary>
    /// As above on sequences packed along x's rows (<paramref name="sequenceLengths"/>, as Forward takes them; null: one
    /// sequence): a model with transformer blocks attends within each sequence, forward and backward.
    /// </summary>
    public ForwardPass BeginTraining(float[,] x, float[,] outputGradient, int[]? sequenceLengths)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(outputGradient);
        var last = Plan.Layers[^1];
        if (outputGradient.GetLength(0) != x.GetLength(0) || outputGradient.GetLength(1) != last.OutFeatures)
            throw new ArgumentException(
                $"{Plan.ModelName}.Backward: outputGradient is [{outputGradient.GetLength(0)}, {outputGradient.GetLength(1)}] but the output is [{x.GetLength(0)}, {last.OutFeatures}] " +
                $"(x's tokens × the last layer '{last.Name}''s out features); pass dLoss/dY of that shape.", nameof(outputGradient));
        _ = LinearTwins();
        _ = BlockTwins();
        var pass = BeginForward(x, sequenceLengths);
        pass.StartTraining(Array.Empty<int>(), 1f);
        pass.OutputGradient = outputGradient;
        return pass;
    }

    /// <summary>
    /// A float model's parameter slices and its gradient twins' slices, layer by layer in the same order (slice i of
    /// one lines up with slice i of the other): linear layers and transformer blocks; null when it has none split from host weights.
    /// </summary>
    internal (ParameterSlice[] Parameters, ParameterSlice[] Gradients)? LinearSlices()
    {
        var parameters = new List<ParameterSlice>();
        var gradients = new List<ParameterSlice>();
        foreach (var l in _layers)
        {
            if (l is ShardedTransformerBlock block && block.Slices.Length > 0)
            {
                parameters.AddRange(block.Slices);
                gradients.AddRange(BlockTwins()[block].Slices);
            }
            if (l is not ShardedLinear layer || layer.Slices.Length == 0) continue;
            parameters.AddRange(layer.Slices);
            gradients.AddRange(LinearGradientOf(layer).Slices);
        }
        return parameters.Count == 0 ? null : (parameters.ToArray(), gradients.ToArray());
    }

    /// <summary>The gradient twin of a linear layer of a float model.</summary>
    internal ShardedLinear LinearGradientOf(ShardedLinear layer) =>
        LinearTwins().TryGetValue(layer, out var twin)
            ? twin
            : throw new InvalidOperationException($"Layer '{layer.Info.Name}' is not a linear layer of model '{Plan.ModelName}'.");

    /// <summary>
    /// The accumulated gradient of linear layer <paramref name="layerIndex"/>, gathered to the host in the layer's
    /// declared layout (weight and bias as the model's Weights take them). Waits for the devices.
    /// </summary>
    public LinearWeights Gradients(int layerIndex)
    {
        if ((uint)layerIndex >= (uint)_layers.Length || _layers[layerIndex] is not ShardedLinear layer)
            throw new ArgumentOutOfRangeException(nameof(layerIndex), layerIndex, $"Model '{Plan.ModelName}' has no linear layer {layerIndex}.");
        var spec = layer.Info.Spec;
        int rows = spec.WeightLayout == WeightLayout.InOut ? spec.InFeatures : spec.OutFeatures;
        int cols = spec.WeightLayout == WeightLayout.InOut ? spec.OutFeatures : spec.InFeatures;
        var weight = new float[rows, cols];
        float[]? bias = spec.HasBias ? new float[spec.OutFeatures] : null;
        // The twin's slices carry the Split methods' cuts in the declared layout.
        SlicesToHost(layerIndex, key => key.Role == WeightRole.LinearWeight ? (weight, null, 0) : (null, bias, 0));
        return new LinearWeights(weight, bias);
    }

    /// <summary>
    /// Downloads layer <paramref name="layerIndex"/>'s gradient slices into the host tensors <paramref name="target"/>
    /// names for each key (a matrix, or a vector, and the column its tensor starts at there), each region once: a
    /// replicated region holds the same values on every device, so the lowest rank's is taken. On an MPI mesh the other
    /// processes' slices are gathered too (<see cref="ModelTraining.GradientsToHost"/>): every process calls it.
    /// </summary>
    private void SlicesToHost(int layerIndex, Func<WeightKey, (float[,]? Matrix, float[]? Vector, int Col0)> target) =>
        Training.GradientsToHost(layerIndex, (key, row0, col0, rows, cols, data) =>
        {
            var (matrix, vector, start) = target(key);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    float v = data[r * cols + c];
                    if (matrix is not null) matrix[row0 + r, start + col0 + c] = v;
                    else vector![start + col0 + c] = v;
                }
        });

    private Dictionary<ShardedLinear, ShardedLinear> LinearTwins()
    {
        if (_linearGradients is { } made) return made;
        var map = new Dictionary<ShardedLinear, ShardedLinear>(ReferenceEqualityComparer.Instance);
        try
        {
            foreach (var l in _layers)
            {
                if (l is not ShardedLinear layer) continue;
                var spec = layer.Info.Spec;
                int rows = spec.WeightLayout == WeightLayout.InOut ? spec.InFeatures : spec.OutFeatures;
                int cols = spec.WeightLayout == WeightLayout.InOut ? spec.OutFeatures : spec.InFeatures;
                var zeros = new LinearWeights(new float[rows, cols], spec.HasBias ? new float[spec.OutFeatures] : null);
                map[layer] = layer.Info.Strategy switch
                {
                    ParallelStrategy.ColumnParallel => ShardedLinear.SplitColumns(Mesh, layer.Info, zeros),
                    ParallelStrategy.RowParallel => ShardedLinear.SplitRows(Mesh, layer.Info, zeros),
                    ParallelStrategy.Summa2D => ShardedLinear.SplitBlocks(Mesh, layer.Info, zeros),
                    _ => throw new InvalidOperationException($"Layer '{layer.Info.Name}': no float-model gradient for {layer.Info.Strategy} layers."),
                };
            }
        }
        catch
        {
            foreach (var twin in map.Values) twin.Dispose();
            throw;
        }
        return _linearGradients = map;
    }

    private void DisposeLinearGradients()
    {
        if (_linearGradients is null) return;
        foreach (var twin in _linearGradients.Values) twin.Dispose();
        _linearGradients = null;
    }
}
