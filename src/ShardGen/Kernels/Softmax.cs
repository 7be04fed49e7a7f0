using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// Row softmax of scaled scores, in place: p[j] = exp(scale·(s[j] − max)) / Σ. Subtracting the row max
/// first keeps every exponent ≤ 0, so nothing overflows; scale > 0 means max(scale·s) = scale·max(s).
/// </summary>
internal static unsafe class Softmax
{
    /// <summary>
    /// Softmax of <c>scale·row[0..valid)</c> written over it; <c>row[valid..n)</c> (masked keys) is set to 0
    /// so a following P·V over all n keys ignores them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaledRow(float* row, int valid, int n, float scale)
    {
        float max = Max(row, valid);
        float sum = ExpAndSum(row, valid, max, scale);
        Multiply(row, valid, 1f / sum);
        if (n > valid) new Span<float>(row + valid, n - valid).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Max(float* x, int n)
    {
        int j = 0;
        float m = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512.Create(float.NegativeInfinity);
            for (; j + 16 <= n; j += 16) acc = Vector512.Max(acc, Vector512.Load(x + j));
            for (int i = 0; i < 16; i++) m = MathF.Max(m, acc.GetElement(i));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256.Create(float.NegativeInfinity);
            for (; j + 8 <= n; j += 8) acc = Vector256.Max(acc, Vector256.Load(x + j));
            for (int i = 0; i < 8; i++) m = MathF.Max(m, acc.GetElement(i));
        }
        for (; j < n; j++) m = MathF.Max(m, x[j]);
        return m;
    }

    /// <summary>x[j] = exp(scale·(x[j] − max)); returns Σ x[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float ExpAndSum(float* x, int n, float max, float scale)
    {
        int j = 0;
        float s = 0f;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(max);
            var k = Vector512.Create(scale);
            var acc = Vector512<float>.Zero;
            for (; j + 16 <= n; j += 16)
            {
                var e = Vector512.Exp((Vector512.Load(x + j) - m) * k);
                Vector512.Store(e, x + j);
                acc += e;
            }
            s = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(max);
            var k = Vector256.Create(scale);
            var acc = Vector256<float>.Zero;
            for (; j + 8 <= n; j += 8)
            {
                var e = Vector256.Exp((Vector256.Load(x + j) - m) * k);
                Vector256.Store(e, x + j);
                acc += e;
            }
            s = Vector256.Sum(acc);
        }
        for (; j < n; j++)
        {
            float e = MathF.Exp((x[j] - max) * scale);
            x[j] = e;
            s += e;
        }
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply(float* x, int n, float factor)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var f = Vector512.Create(factor);
            for (; j + 16 <= n; j += 16) Vector512.Store(Vector512.Load(x + j) * f, x + j);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; j + 8 <= n; j += 8) Vector256.Store(Vector256.Load(x + j) * f, x + j);
        }
        for (; j < n; j++) x[j] *= factor;
    }
}
