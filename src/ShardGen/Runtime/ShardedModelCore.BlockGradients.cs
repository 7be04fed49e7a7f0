using System;
using System.Collections.Generic;
using ShardGen.Training;

namespace ShardGen.Runtime;

// Gradients of a float model's transformer blocks (split from host weights, not loaded by a checkpoint loader): each
// block's twin is uploaded from zeros exactly as Split uploaded its weights, so slice i of the twin is the gradient of
// slice i of the block and every gradient is sharded like its weight (whole heads, MLP columns, replicated norms).
public sealed partial class ShardedModelCore
{
    private Dictionary<ShardedTransformerBlock, ShardedTransformerBlock>? _blockGradients;

    /// <summary>
    /// The accumulated gradients of transformer block <paramref name="layerIndex"/> of a float model, gathered to the
    /// host in the declared layout (the fused q|k|v columns: every query head, then every key head, then every value
    /// head; every weight [in, out]), as the model's Weights take them. Waits for the devices.
    /// </summary>
    public TransformerBlockWeights BlockGradients(int layerIndex)
    {
        if ((uint)layerIndex >= (uint)_layers.Length || _layers[layerIndex] is not ShardedTransformerBlock block || block.Slices.Length == 0)
            throw new ArgumentOutOfRangeException(nameof(layerIndex), layerIndex, $"Model '{Plan.ModelName}' has no transformer block {layerIndex} split from host weights.");
        var info = block.Info;
        int d = info.Hidden, q = info.Heads * info.HeadDim, kv = info.KvHeads * info.HeadDim, ffn = info.FfnHidden;
        bool shift = info.Shape.Norm == NormKind.LayerNorm, bias = info.HasBias, qkvBias = info.HasQkvBias;
        var g = new TransformerBlockWeights
        {
            AttentionNormScale = new float[d],
            AttentionNormShift = shift ? new float[d] : null,
            Qkv = new LinearWeights(new float[d, q + 2 * kv], qkvBias ? new float[q + 2 * kv] : null),
            Out = new LinearWeights(new float[q, d], bias ? new float[d] : null),
            MlpNormScale = new float[d],
            MlpNormShift = shift ? new float[d] : null,
            Up = new LinearWeights(new float[d, ffn], bias ? new float[ffn] : null),
            Down = new LinearWeights(new float[ffn, d], bias ? new float[d] : null),
        };
        SlicesToHost(layerIndex, key => Place(g, key.Role, q, kv));
        return g;
    }

    /// <summary>The host tensor a block parameter's gradient goes into, and where its columns start there (q|k|v fused).</summary>
    private static (float[,]? Matrix, float[]? Vector, int Col0) Place(TransformerBlockWeights g, WeightRole role, int q, int kv) => role switch
    {
        WeightRole.AttentionNormScale => (null, g.AttentionNormScale, 0),
        WeightRole.AttentionNormShift => (null, g.AttentionNormShift, 0),
        WeightRole.MlpNormScale => (null, g.MlpNormScale, 0),
        WeightRole.MlpNormShift => (null, g.MlpNormShift, 0),
        WeightRole.Query => (g.Qkv.Weight, null, 0),
        WeightRole.Key => (g.Qkv.Weight, null, q),
        WeightRole.Value => (g.Qkv.Weight, null, q + kv),
        WeightRole.QueryBias => (null, g.Qkv.Bias, 0),
        WeightRole.KeyBias => (null, g.Qkv.Bias, q),
        WeightRole.ValueBias => (null, g.Qkv.Bias, q + kv),
        WeightRole.AttentionOutput => (g.Out.Weight, null, 0),
        WeightRole.AttentionOutputBias => (null, g.Out.Bias, 0),
        WeightRole.MlpUp => (g.Up.Weight, null, 0),
        WeightRole.MlpUpBias => (null, g.Up.Bias, 0),
        WeightRole.MlpDown => (g.Down.Weight, null, 0),
        WeightRole.MlpDownBias => (null, g.Down.Bias, 0),
        _ => throw new InvalidOperationException($"A float model's block has no parameter {role}."),
    };

    /// <summary>
    /// Layer <paramref name="layerIndex"/>'s accumulated gradients in its declared layout: <see cref="LinearWeights"/>
    /// for a linear layer, <see cref="TransformerBlockWeights"/> for a transformer block.
    /// </summary>
    public LayerWeights LayerGradients(int layerIndex) =>
        (uint)layerIndex < (uint)_layers.Length && _layers[layerIndex] is ShardedTransformerBlock ? BlockGradients(layerIndex) : Gradients(layerIndex);

    /// <summary>The gradient twin of every block of a float model split from host weights, made on first use (zeros).</summary>
    private Dictionary<ShardedTransformerBlock, ShardedTransformerBlock> BlockTwins()
    {
        if (_blockGradients is { } made) return made;
        var map = new Dictionary<ShardedTransformerBlock, ShardedTransformerBlock>(ReferenceEqualityComparer.Instance);
        try
        {
            foreach (var l in _layers)
                if (l is ShardedTransformerBlock { Slices.Length: > 0 } block) map[block] = ShardedTransformerBlock.Zeros(Mesh, block.Info);
        }
        catch
        {
            foreach (var twin in map.Values) twin.Dispose();
            throw;
        }
        return _blockGradients = map;
    }

    private void DisposeBlockGradients()
    {
        if (_blockGradients is null) return;
        foreach (var twin in _blockGradients.Values) twin.Dispose();
        _blockGradients = null;
    }
}
