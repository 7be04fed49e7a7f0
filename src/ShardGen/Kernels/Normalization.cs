using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// Per-row LayerNorm and RmsNorm. Each row is read in vectorised passes (sum, then centred sum of squares,
/// then the scaled write), so x and y may be the same row. LayerNorm uses two passes for the variance
/// rather than E[x²] − mean², which cancels catastrophically when |mean| ≫ std.
/// </summary>
internal static unsafe class Normalization
{
    /// <summary>y = (x − mean)/√(var + ε)·γ + β (β may be null); var is the population variance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNormRow(float* x, float* y, int n, float* gamma, float* beta, float epsilon)
    {
        if (n == 0) return;
        float mean = Sum(x, n) / n;
        float variance = CentredSquares(x, n, mean) / n;
        float rstd = 1f / MathF.Sqrt(variance + epsilon);
        Scale(x, y, n, mean, rstd, gamma, beta);
    }

    /// <summary>y = x/√(mean(x²) + ε)·γ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNormRow(float* x, float* y, int n, float* gamma, float epsilon)
    {
        if (n == 0) return;
        float meanSquare = CentredSquares(x, n, 0f) / n;
        float rstd = 1f / MathF.Sqrt(meanSquare + epsilon);
        Scale(x, y, n, 0f, rstd, gamma, null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum(float* x, int n)
    {
        int j = 0;
        float s = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            // Two accumulators hide the add latency and halve the rounding chain.
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            for (; j + 32 <= n; j += 32)
            {
                a0 += Vector512.Load(x + j);
                a1 += Vector512.Load(x + j + 16);
            }
            if (j + 16 <= n) { a0 += Vector512.Load(x + j); j += 16; }
            s = Vector512.Sum(a0 + a1);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            for (; j + 16 <= n; j += 16)
            {
                a0 += Vector256.Load(x + j);
                a1 += Vector256.Load(x + j + 8);
            }
            if (j + 8 <= n) { a0 += Vector256.Load(x + j); j += 8; }
            s = Vector256.Sum(a0 + a1);
        }
        for (; j < n; j++) s += x[j];
        return s;
    }

    /// <summary>Σ (x[j] − centre)².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float CentredSquares(float* x, int n, float centre)
    {
        int j = 0;
        float s = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var c = Vector512.Create(centre);
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            for (; j + 32 <= n; j += 32)
            {
                var d0 = Vector512.Load(x + j) - c;
                var d1 = Vector512.Load(x + j + 16) - c;
                a0 = Vector512.FusedMultiplyAdd(d0, d0, a0);
                a1 = Vector512.FusedMultiplyAdd(d1, d1, a1);
            }
            if (j + 16 <= n)
            {
                var d = Vector512.Load(x + j) - c;
                a0 = Vector512.FusedMultiplyAdd(d, d, a0);
                j += 16;
            }
            s = Vector512.Sum(a0 + a1);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var c = Vector256.Create(centre);
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            for (; j + 16 <= n; j += 16)
            {
                var d0 = Vector256.Load(x + j) - c;
                var d1 = Vector256.Load(x + j + 8) - c;
                a0 = Vector256.FusedMultiplyAdd(d0, d0, a0);
                a1 = Vector256.FusedMultiplyAdd(d1, d1, a1);
            }
            if (j + 8 <= n)
            {
                var d = Vector256.Load(x + j) - c;
                a0 = Vector256.FusedMultiplyAdd(d, d, a0);
                j += 8;
            }
            s = Vector256.Sum(a0 + a1);
        }
        for (; j < n; j++)
        {
            float d = x[j] - centre;
            s += d * d;
        }
        return s;
    }

    /// <summary>y[j] = (x[j] − centre)·rstd·γ[j] (+ β[j]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scale(float* x, float* y, int n, float centre, float rstd, float* gamma, float* beta)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var c = Vector512.Create(centre);
            var r = Vector512.Create(rstd);
            for (; j + 16 <= n; j += 16)
            {
                var v = (Vector512.Load(x + j) - c) * r * Vector512.Load(gamma + j);
                if (beta != null) v += Vector512.Load(beta + j);
                Vector512.Store(v, y + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var c = Vector256.Create(centre);
            var r = Vector256.Create(rstd);
            for (; j + 8 <= n; j += 8)
            {
                var v = (Vector256.Load(x + j) - c) * r * Vector256.Load(gamma + j);
                if (beta != null) v += Vector256.Load(beta + j);
                Vector256.Store(v, y + j);
            }
        }
        for (; j < n; j++)
        {
            float v = (x[j] - centre) * rstd * gamma[j];
            y[j] = beta != null ? v + beta[j] : v;
        }
    }
}
