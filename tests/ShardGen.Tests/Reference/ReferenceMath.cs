using System;

namespace ShardGen.Tests.Reference;

/// <summary>
/// Double-precision reference for Y = act(X·W + b), written independently of the runtime's kernels
/// (plain loops, its own erf) so a bug there cannot hide in both.
/// </summary>
internal static class ReferenceMath
{
    /// <summary>act(x·W + b) with W stored [in, out] (or [out, in] when <paramref name="outIn"/>).</summary>
    public static double[,] Linear(double[,] x, float[,] w, float[]? b, bool outIn, Activation act)
    {
        int t = x.GetLength(0), n = x.GetLength(1);
        int m = outIn ? w.GetLength(0) : w.GetLength(1);
        var y = new double[t, m];
        for (int r = 0; r < t; r++)
            for (int c = 0; c < m; c++)
            {
                double s = b is null ? 0 : b[c];
                for (int k = 0; k < n; k++) s += x[r, k] * (outIn ? w[c, k] : w[k, c]);
                y[r, c] = Apply(act, s);
            }
        return y;
    }

    public static double Apply(Activation act, double v) => act switch
    {
        Activation.None => v,
        Activation.Relu => Math.Max(0, v),
        Activation.Gelu => 0.5 * v * (1 + Erf(v / Math.Sqrt(2))),
        Activation.GeluTanh => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))),
        Activation.Silu => v / (1 + Math.Exp(-v)),
        Activation.Tanh => Math.Tanh(v),
        Activation.Sigmoid => 1 / (1 + Math.Exp(-v)),
        _ => throw new ArgumentOutOfRangeException(nameof(act)),
    };

    /// <summary>
    /// High-precision erf, independent of the kernel's: the Maclaurin series summed to convergence for
    /// |x| &lt; 3, else the continued fraction of erfc (60 levels, far past double precision there).
    /// </summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax < 3)
        {
            double sum = x, term = x;
            for (int n = 1; n < 300; n++)
            {
                term *= -x * x / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-18 * Math.Abs(sum)) break;
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        double f = 0;
        for (int k = 60; k >= 1; k--) f = k / 2.0 / (ax + f);
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        return Math.Sign(x) * (1 - erfc);
    }

    public static double[,] ToDouble(float[,] m)
    {
        var d = new double[m.GetLength(0), m.GetLength(1)];
        for (int r = 0; r < m.GetLength(0); r++)
            for (int c = 0; c < m.GetLength(1); c++)
                d[r, c] = m[r, c];
        return d;
    }

    /// <summary>max |actual − expected| / max |expected|.</summary>
    public static double RelativeError(float[,] actual, double[,] expected)
    {
        if (actual.GetLength(0) != expected.GetLength(0) || actual.GetLength(1) != expected.GetLength(1))
            throw new ArgumentException($"Shape [{actual.GetLength(0)}, {actual.GetLength(1)}] vs expected [{expected.GetLength(0)}, {expected.GetLength(1)}].");
        double maxDiff = 0, maxRef = 0;
        for (int r = 0; r < actual.GetLength(0); r++)
            for (int c = 0; c < actual.GetLength(1); c++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(actual[r, c] - expected[r, c]));
                maxRef = Math.Max(maxRef, Math.Abs(expected[r, c]));
            }
        if (maxRef == 0) throw new InvalidOperationException("The reference is all zeros: the test inputs are degenerate.");
        return maxDiff / maxRef;
    }

    /// <summary>Uniform values in [−1, 1] from a seeded generator.</summary>
    public static float[,] RandomMatrix(Random rng, int rows, int cols)
    {
        var m = new float[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                m[r, c] = (float)(rng.NextDouble() * 2 - 1);
        return m;
    }
}
