using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// The optimizers' elementwise steps over one row of a parameter: SGD, torch.optim.AdamW in its order of operations
/// (float32 arithmetic like PyTorch's on float32 tensors; the step's scalars formed in double as Python forms them),
/// and the sum of squares and scaling of global-norm clipping. Eight floats at a time with the scalar loop's operations in
/// its order (no fused multiply-add), so the vector lanes and the ragged tail round alike.
/// </summary>
internal static unsafe class Optimizers
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SgdRow(float* w, float* g, int n, float learningRate)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lr = Vector256.Create(learningRate);
            for (; j + 8 <= n; j += 8) Vector256.Store(Vector256.Load(w + j) - lr * Vector256.Load(g + j), w + j);
        }
        for (; j < n; j++) w[j] -= learningRate * g[j];
    }

    /// <summary>AdamW's scalars for step t: the decay factor 1 − lr·wd, the step size lr/(1 − β₁ᵗ) and √(1 − β₂ᵗ).</summary>
    public readonly record struct AdamWScalars(float Decay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float StepSize, float Correction2Sqrt, float Epsilon)
    {
        public static AdamWScalars For(float lr, float beta1, float beta2, float epsilon, float weightDecay, int step) => new(
            (float)(1 - (double)lr * weightDecay), beta1, (float)(1 - (double)beta1), beta2, (float)(1 - (double)beta2),
            (float)(lr / (1 - Math.Pow(beta1, step))), (float)Math.Sqrt(1 - Math.Pow(beta2, step)), epsilon);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AdamWRow(float* w, float* g, float* m, float* v, int n, in AdamWScalars s)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> decay = Vector256.Create(s.Decay), b1 = Vector256.Create(s.Beta1), c1 = Vector256.Create(s.OneMinusBeta1),
                b2 = Vector256.Create(s.Beta2), c2 = Vector256.Create(s.OneMinusBeta2), step = Vector256.Create(s.StepSize),
                root = Vector256.Create(s.Correction2Sqrt), eps = Vector256.Create(s.Epsilon);
            for (; j + 8 <= n; j += 8)
            {
                var gj = Vector256.Load(g + j);
                var wj = Vector256.Load(w + j) * decay;
                var mj = Vector256.Load(m + j) * b1 + c1 * gj;
                var vj = Vector256.Load(v + j) * b2 + c2 * gj * gj;
                var denominator = Vector256.Sqrt(vj) / root + eps;
                Vector256.Store(mj, m + j);
                Vector256.Store(vj, v + j);
                Vector256.Store(wj - step * (mj / denominator), w + j);
            }
        }
        for (; j < n; j++)
        {
            float gj = g[j];
            float wj = w[j] * s.Decay;
            float mj = m[j] * s.Beta1 + s.OneMinusBeta1 * gj;
            float vj = v[j] * s.Beta2 + s.OneMinusBeta2 * gj * gj;
            float denominator = MathF.Sqrt(vj) / s.Correction2Sqrt + s.Epsilon;
            m[j] = mj;
            v[j] = vj;
            w[j] = wj - s.StepSize * (mj / denominator);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumOfSquaresRow(float* g, int n)
    {
        int j = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<double>.Zero;
            for (; j + 8 <= n; j += 8)
            {
                var x = Vector256.Load(g + j);
                var (lo, hi) = Vector256.Widen(x);
                acc += lo * lo + hi * hi;
            }
            sum = Vector256.Sum(acc);
        }
        for (; j < n; j++) sum += (double)g[j] * g[j];
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleRow(float* g, int n, float factor)
    {
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; j + 8 <= n; j += 8) Vector256.Store(Vector256.Load(g + j) * f, g + j);
        }
        for (; j < n; j++) g[j] *= factor;
    }
}
