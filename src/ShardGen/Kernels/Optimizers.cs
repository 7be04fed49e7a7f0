using System;

namespace ShardGen.Kernels;

/// <summary>
/// The optimizers' elementwise steps over one row of a parameter: SGD, torch.optim.AdamW in its order of operations
/// (float32 arithmetic like PyTorch's on float32 tensors; the step's scalars formed in double as Python forms them),
/// and the sum of squares and scaling of global-norm clipping.
/// </summary>
internal static unsafe class Optimizers
{
    public static void SgdRow(float* w, float* g, int n, float learningRate)
    {
        for (int j = 0; j < n; j++) w[j] -= learningRate * g[j];
    }

    /// <summary>AdamW's scalars for step t: the decay factor 1 − lr·wd, the step size lr/(1 − β₁ᵗ) and √(1 − β₂ᵗ).</summary>
    public readonly record struct AdamWScalars(float Decay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float StepSize, float Correction2Sqrt, float Epsilon)
    {
        public static AdamWScalars For(float lr, float beta1, float beta2, float epsilon, float weightDecay, int step) => new(
            (float)(1 - (double)lr * weightDecay), beta1, (float)(1 - (double)beta1), beta2, (float)(1 - (double)beta2),
            (float)(lr / (1 - Math.Pow(beta1, step))), (float)Math.Sqrt(1 - Math.Pow(beta2, step)), epsilon);
    }

    public static void AdamWRow(float* w, float* g, float* m, float* v, int n, in AdamWScalars s)
    {
        for (int j = 0; j < n; j++)
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

    public static double SumOfSquaresRow(float* g, int n)
    {
        double sum = 0;
        for (int j = 0; j < n; j++) sum += (double)g[j] * g[j];
        return sum;
    }

    public static void ScaleRow(float* g, int n, float factor)
    {
        for (int j = 0; j < n; j++) g[j] *= factor;
    }
}
