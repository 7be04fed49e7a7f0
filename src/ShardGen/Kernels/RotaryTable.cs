using System;
using System.Collections.Generic;

namespace ShardGen.Kernels;

/// <summary>
/// cos and sin of the rotary angles of one (head dimension, θ), for positions [0, <see cref="Positions"/>): row p holds
/// d/2 values, angle i = p·θ^(−2i/d). The numbers are those of Hugging Face's float32 LLaMA: the inverse frequency
/// 1/θ^(2i/d) and the angle p·f are each rounded to float32 as PyTorch forms them (an exact double angle differs from
/// PyTorch's by up to 5e-4 at position 8000), then cos and sin are evaluated in double and rounded once, so the
/// tables match PyTorch's to 1 ulp. Immutable: a grown table is a new object, so queued kernels keep theirs.
/// </summary>
internal sealed class RotaryTable
{
    private static readonly Dictionary<(int HeadDim, float Theta), RotaryTable> Tables = new();

    private RotaryTable(int headDim, float theta, int positions, RotaryTable? previous)
    {
        HeadDim = headDim;
        Theta = theta;
        Positions = positions;
        int half = headDim / 2;
        Cos = new float[(long)positions * half];
        Sin = new float[(long)positions * half];
        int known = 0;
        if (previous != null)
        {
            known = previous.Positions;
            previous.Cos.CopyTo(Cos, 0);
            previous.Sin.CopyTo(Sin, 0);
        }
        var frequency = new float[half];
        for (int i = 0; i < half; i++)
            frequency[i] = 1f / (float)Math.Pow(theta, (float)(2 * i) / headDim);
        for (int p = known; p < positions; p++)
        for (int i = 0; i < half; i++)
        {
            float angle = p * frequency[i];
            Cos[(long)p * half + i] = (float)Math.Cos(angle);
            Sin[(long)p * half + i] = (float)Math.Sin(angle);
        }
    }

    public int HeadDim { get; }

    public float Theta { get; }

    /// <summary>Positions covered: [0, Positions).</summary>
    public int Positions { get; }

    /// <summary>[Positions, HeadDim/2] row-major.</summary>
    public float[] Cos { get; }

    public float[] Sin { get; }

    /// <summary>
    /// The table for (<paramref name="headDim"/>, <paramref name="theta"/>) covering positions [0, positions): the one
    /// made before when it is large enough, else a grown one (at least doubled, so a decode loop grows it log-many times).
    /// Shared by every device: the numbers depend only on the key.
    /// </summary>
    public static RotaryTable For(int headDim, float theta, int positions)
    {
        lock (Tables)
        {
            Tables.TryGetValue((headDim, theta), out var table);
            if (table != null && table.Positions >= positions) return table;
            int size = Math.Max(positions, Math.Max(256, 2 * (table?.Positions ?? 0)));
            table = new RotaryTable(headDim, theta, size, table);
            Tables[(headDim, theta)] = table;
            return table;
        }
    }
}
