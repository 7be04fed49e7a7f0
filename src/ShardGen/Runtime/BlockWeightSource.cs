using System;

namespace ShardGen.Runtime;

/// <summary>
/// A single block's host weights (<see cref="TransformerBlockWeights"/>, the fused q|k|v included) as the logical
/// tensors a sharded block uploads from: Query, Key and Value are the three column sections of the fused weight.
/// </summary>
internal sealed class BlockWeightSource : IWeightSource
{
    private readonly TransformerBlock _block;
    private readonly TransformerBlockWeights _weights;

    public BlockWeightSource(TransformerBlock block, TransformerBlockWeights weights)
    {
        _block = block;
        _weights = weights;
    }

    public (int Rows, int Cols)? Shape(WeightKey key)
    {
        var (matrix, vector, col0, cols) = Locate(key.Role);
        if (matrix is not null) return (matrix.GetLength(0), cols);
        if (vector is not null) return (1, cols);
        return null;
    }

    public string Name(WeightKey key) => $"{_block.Name}.{key.Role}";

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination)
    {
        var (matrix, vector, start, _) = Locate(key.Role);
        if (matrix is not null)
        {
            int stride = matrix.GetLength(1);
            var all = HostMatrix.Span(matrix);
            for (int r = 0; r < rows; r++)
                all.Slice((row0 + r) * stride + start + col0, cols).CopyTo(destination.Slice(r * cols, cols));
        }
        else if (vector is not null)
        {
            vector.AsSpan(start + col0, cols).CopyTo(destination);
        }
        else
        {
            throw new InvalidOperationException($"Block '{_block.Name}' has no {key.Role}.");
        }
    }

    /// <summary>The host array holding <paramref name="role"/> and its column range in it.</summary>
    private (float[,]? Matrix, float[]? Vector, int Col0, int Cols) Locate(WeightRole role)
    {
        var w = _weights;
        int q = _block.Heads * _block.HeadDim, kv = _block.KvHeads * _block.HeadDim, d = _block.Hidden;
        return role switch
        {
            WeightRole.AttentionNormScale => (null, w.AttentionNormScale, 0, d),
            WeightRole.AttentionNormShift => (null, w.AttentionNormShift, 0, d),
            WeightRole.MlpNormScale => (null, w.MlpNormScale, 0, d),
            WeightRole.MlpNormShift => (null, w.MlpNormShift, 0, d),
            WeightRole.Query => (w.Qkv.Weight, null, 0, q),
            WeightRole.Key => (w.Qkv.Weight, null, q, kv),
            WeightRole.Value => (w.Qkv.Weight, null, q + kv, kv),
            WeightRole.QueryBias => (null, w.Qkv.Bias, 0, q),
            WeightRole.KeyBias => (null, w.Qkv.Bias, q, kv),
            WeightRole.ValueBias => (null, w.Qkv.Bias, q + kv, kv),
            WeightRole.AttentionOutput => (w.Out.Weight, null, 0, d),
            WeightRole.AttentionOutputBias => (null, w.Out.Bias, 0, d),
            WeightRole.MlpUp => (w.Up.Weight, null, 0, _block.FfnHidden),
            WeightRole.MlpUpBias => (null, w.Up.Bias, 0, _block.FfnHidden),
            WeightRole.MlpDown => (w.Down.Weight, null, 0, d),
            WeightRole.MlpDownBias => (null, w.Down.Bias, 0, d),
            _ => (null, null, 0, 0),
        };
    }
}
