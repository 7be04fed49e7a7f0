using System;

namespace ShardGen.Runtime;

/// <summary>Converts [batch, seq, hidden] inputs to packed [tokens, hidden] plus sequence lengths, and back.</summary>
public static class Batches
{
    public static float[,] Flatten(float[,,] x, out int[] sequenceLengths)
    {
        ArgumentNullException.ThrowIfNull(x);
        int b = x.GetLength(0), s = x.GetLength(1), h = x.GetLength(2);
        var flat = new float[b * s, h];
        Buffer.BlockCopy(x, 0, flat, 0, x.Length * sizeof(float)); // same row-major order
        sequenceLengths = new int[b];
        Array.Fill(sequenceLengths, s);
        return flat;
    }

    public static float[,,] Unflatten(float[,] y, int batch)
    {
        ArgumentNullException.ThrowIfNull(y);
        int tokens = y.GetLength(0), h = y.GetLength(1);
        var result = new float[batch, tokens / batch, h];
        Buffer.BlockCopy(y, 0, result, 0, y.Length * sizeof(float));
        return result;
    }
}
