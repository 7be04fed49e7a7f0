using System;
using System.Collections.Generic;

namespace ShardGen;

/// <summary>
/// Logical tensors held in host arrays: an <see cref="IWeightSource"/> for tests, demos and weights made in code.
/// Matrices are [in, out] (embedding tables [rows, hidden]); vectors are stored as [1, n].
/// </summary>
public sealed class InMemoryWeights : IWeightSource
{
    private readonly Dictionary<WeightKey, float[,]> _tensors = new();

    /// <summary>Sets <paramref name="key"/> to <paramref name="matrix"/> (kept, not copied).</summary>
    public InMemoryWeights Set(WeightKey key, float[,] matrix)
    {
        _tensors[key] = matrix ?? throw new ArgumentNullException(nameof(matrix));
        return this;
    }

    /// <summary>Sets <paramref name="key"/> to the vector <paramref name="values"/>, as [1, n].</summary>
    public InMemoryWeights Set(WeightKey key, float[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var m = new float[1, values.Length];
        Buffer.BlockCopy(values, 0, m, 0, values.Length * sizeof(float));
        _tensors[key] = m;
        return this;
    }

    /// <summary>Removes <paramref name="key"/>.</summary>
    public bool Remove(WeightKey key) => _tensors.Remove(key);

    /// <summary>The tensor at <paramref name="key"/>, or null.</summary>
    public float[,]? Get(WeightKey key) => _tensors.TryGetValue(key, out var m) ? m : null;

    public (int Rows, int Cols)? Shape(WeightKey key) => _tensors.TryGetValue(key, out var m) ? (m.GetLength(0), m.GetLength(1)) : null;

    public string Name(WeightKey key) => key.ToString();

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination)
    {
        if (!_tensors.TryGetValue(key, out var m)) throw new KeyNotFoundException($"No tensor {key}.");
        if (row0 < 0 || col0 < 0 || row0 + rows > m.GetLength(0) || col0 + cols > m.GetLength(1))
            throw new ArgumentOutOfRangeException(nameof(row0), $"Rows [{row0}, +{rows}) × columns [{col0}, +{cols}) lie outside {key} [{m.GetLength(0)}, {m.GetLength(1)}].");
        var all = Runtime.HostMatrix.Span(m);
        int stride = m.GetLength(1);
        for (int r = 0; r < rows; r++) all.Slice((row0 + r) * stride + col0, cols).CopyTo(destination.Slice(r * cols, cols));
    }
}
