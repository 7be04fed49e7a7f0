using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// The bias + activation epilogue, applied to one row segment of C while it is still in L1. Full vectors
/// use SIMD (exp from the BCL's vectorised Vector512/256.Exp); the ragged tail uses the scalar forms.
/// The vector paths are compiled fully optimized from the first call: at tier 0 Vector512.Exp is a call into
/// unoptimized generic vector code, ~100× slower (330 µs against 3 µs for SwiGLU's 5632 gates, decode-ops suite), and
/// tiering up waits for a quiet moment a decode loop may never give.
/// </summary>
internal static unsafe class Activations
{
    private const float SqrtHalf = 0.70710678118654752f;
    // GeluTanh(x) = x·σ(2u), u = √(2/π)(x + 0.044715x³), since ½(1 + tanh u) = σ(2u).
    private const float TwoSqrtTwoOverPi = 1.5957691216057308f;
    private const float GeluCubic = 0.044715f;

    /// <summary><c>row[j] = act(row[j] + bias[j])</c> for j &lt; n; <paramref name="bias"/> may be null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyRow(float* row, float* bias, int n, Activation activation)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= n; j += 16)
            {
                var v = Vector512.Load(row + j);
                if (bias != null) v += Vector512.Load(bias + j);
                Vector512.Store(Apply(v, activation), row + j);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= n; j += 8)
            {
                var v = Vector256.Load(row + j);
                if (bias != null) v += Vector256.Load(bias + j);
                Vector256.Store(Apply(v, activation), row + j);
            }
        }
        for (; j < n; j++)
            row[j] = Apply(bias != null ? row[j] + bias[j] : row[j], activation);
    }

    /// <summary><c>output[j] = act(gate[j])·up[j]</c> for j &lt; n (SwiGLU's gate with Silu).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GatedRow(float* gate, float* up, float* output, int n, Activation activation)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= n; j += 16)
                Vector512.Store(Apply(Vector512.Load(gate + j), activation) * Vector512.Load(up + j), output + j);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= n; j += 8)
                Vector256.Store(Apply(Vector256.Load(gate + j), activation) * Vector256.Load(up + j), output + j);
        }
        for (; j < n; j++) output[j] = Apply(gate[j], activation) * up[j];
    }

    public static float Apply(float x, Activation activation)
    {
        switch (activation)
        {
            case Activation.None: return x;
            case Activation.Relu: return x < 0f ? 0f : x; // NaN stays NaN (as PyTorch): a poisoned value is never hidden
            case Activation.Gelu: return (float)(0.5 * x * (1 + Erf.Evaluate(x * (double)SqrtHalf)));
            case Activation.GeluTanh: return x * Sigmoid(TwoSqrtTwoOverPi * (x + GeluCubic * x * x * x));
            case Activation.Silu: return x * Sigmoid(x);
            case Activation.Tanh: return MathF.Tanh(x);
            case Activation.Sigmoid: return Sigmoid(x);
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector512<float> Apply(Vector512<float> x, Activation activation)
    {
        switch (activation)
        {
            case Activation.None: return x;
            case Activation.Relu: return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), Vector512<float>.Zero, x);
            case Activation.Gelu:
            {
                // erf in double lanes: float erf approximations stop at ~3e-7.
                var (lo, hi) = Vector512.Widen(x);
                var half = Vector512.Create(0.5);
                var s = Vector512.Create((double)SqrtHalf);
                lo = half * lo * (Vector512<double>.One + Erf.Evaluate(lo * s));
                hi = half * hi * (Vector512<double>.One + Erf.Evaluate(hi * s));
                return Vector512.Narrow(lo, hi);
            }
            case Activation.GeluTanh:
            {
                var u = Vector512.Create(TwoSqrtTwoOverPi) * (x + Vector512.Create(GeluCubic) * x * x * x);
                return x * Sigmoid(u);
            }
            case Activation.Silu: return x * Sigmoid(x);
            case Activation.Tanh:
            {
                // tanh|x| = (1 − e^−2|x|)/(1 + e^−2|x|): no overflow for any x.
                var e = Vector512.Exp(Vector512.Create(-2f) * Vector512.Abs(x));
                return Vector512.CopySign((Vector512<float>.One - e) / (Vector512<float>.One + e), x);
            }
            case Activation.Sigmoid: return Sigmoid(x);
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    private static Vector512<float> Sigmoid(Vector512<float> x) =>
        Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector256<float> Apply(Vector256<float> x, Activation activation)
    {
        switch (activation)
        {
            case Activation.None: return x;
            case Activation.Relu: return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256<float>.Zero, x);
            case Activation.Gelu:
            {
                var (lo, hi) = Vector256.Widen(x);
                var half = Vector256.Create(0.5);
                var s = Vector256.Create((double)SqrtHalf);
                lo = half * lo * (Vector256<double>.One + Erf.Evaluate(lo * s));
                hi = half * hi * (Vector256<double>.One + Erf.Evaluate(hi * s));
                return Vector256.Narrow(lo, hi);
            }
            case Activation.GeluTanh:
            {
                var u = Vector256.Create(TwoSqrtTwoOverPi) * (x + Vector256.Create(GeluCubic) * x * x * x);
                return x * Sigmoid(u);
            }
            case Activation.Silu: return x * Sigmoid(x);
            case Activation.Tanh:
            {
                var e = Vector256.Exp(Vector256.Create(-2f) * Vector256.Abs(x));
                return Vector256.CopySign((Vector256<float>.One - e) / (Vector256<float>.One + e), x);
            }
            case Activation.Sigmoid: return Sigmoid(x);
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    private static Vector256<float> Sigmoid(Vector256<float> x) =>
        Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));
}
