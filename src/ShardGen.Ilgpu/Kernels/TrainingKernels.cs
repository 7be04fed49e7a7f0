using System;
using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// The elementwise training kernels of the backend, one thread per element (or rotated pair): activation and gated
/// backward, rotary backward (−angle, the forward's tables), SGD, AdamW and scaling. Same formulas as the CPU backend's
/// (src/ShardGen/Kernels: ActivationBackward, RotaryBackward, Optimizers).
/// </summary>
internal static class TrainingKernels
{
    private const double SqrtHalf = 0.70710678118654752440, InvSqrtTwoPi = 0.39894228040143267794;
    private const double SqrtTwoOverPi = 0.79788456080286535588, GeluCubic = 0.044715;

    /// <summary>act′(z) for the numeric value of <see cref="ShardGen.Activation"/>, in double.</summary>
    public static double Derivative(double z, int activation)
    {
        switch (activation)
        {
            case 1: return z <= 0 ? 0 : 1;
            case 2: return 0.5 * (1 + DeviceKernels.Erf(z * SqrtHalf)) + z * InvSqrtTwoPi * KernelMath.Exp(-0.5 * z * z);
            case 3:
            {
                double t = Tanh(SqrtTwoOverPi * (z + GeluCubic * z * z * z));
                return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * SqrtTwoOverPi * (1 + 3 * GeluCubic * z * z);
            }
            case 4:
            {
                double s = 1 / (1 + KernelMath.Exp(-z));
                return s * (1 + z * (1 - s));
            }
            case 5:
            {
                double t = Tanh(z);
                return 1 - t * t;
            }
            case 6:
            {
                double s = 1 / (1 + KernelMath.Exp(-z));
                return s * (1 - s);
            }
            default: return 1;
        }
    }

    private static double Tanh(double x)
    {
        double e = KernelMath.Exp(-2 * Math.Abs(x)), t = (1 - e) / (1 + e);
        return x < 0 ? -t : t;
    }

    public static void ActivationBackward(Index1D i, ElementwiseBackwardParams p, ArrayView<float> z, ArrayView<float> dy, ArrayView<float> dz)
    {
        int cols = p.Z.Cols, r = i / cols, c = i - r * cols;
        float g = dy[p.Dy.Offset + r * p.Dy.Stride + c];
        dz[p.Dz.Offset + r * p.Dz.Stride + c] = (float)(g * Derivative(z[p.Z.Offset + r * p.Z.Stride + c], p.Activation));
    }

    public static void GatedBackward(Index1D i, ElementwiseBackwardParams p, ArrayView<float> gateUp, ArrayView<float> dOut, ArrayView<float> dGateUp)
    {
        int n = p.Dy.Cols, r = i / n, j = i - r * n;
        int at = p.Z.Offset + r * p.Z.Stride + j, to = p.Dz.Offset + r * p.Dz.Stride + j;
        float gate = gateUp[at], up = gateUp[at + n], d = dOut[p.Dy.Offset + r * p.Dy.Stride + j];
        dGateUp[to] = (float)(d * (double)up * Derivative(gate, p.Activation));
        dGateUp[to + n] = (float)(d * (double)DeviceKernels.Activate(gate, p.Activation));
    }

    public static void RotaryBackward(Index1D i, RotaryParams p, ArrayView<int> positions, ArrayView<float> angles, ArrayView<float> x)
    {
        int half = p.HeadDim / 2, pairs = p.Heads * half;
        int t = i / pairs, rest = i - t * pairs, h = rest / half, k = rest - h * half;
        int at = p.X.Offset + t * p.X.Stride + h * p.HeadDim + k;
        int angle = positions[t] * half + k;
        float cos = angles[angle], sin = angles[p.SinOffset + angle];
        float a = x[at], b = x[at + half];
        x[at] = a * cos + b * sin;
        x[at + half] = b * cos - a * sin;
    }

    public static void Optimizer(Index1D i, OptimizerParams p, ArrayView<float> w, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v)
    {
        int cols = p.W.Cols, r = i / cols, c = i - r * cols;
        int wi = p.W.Offset + r * p.W.Stride + c;
        float gj = g[p.G.Offset + r * p.G.Stride + c];
        if (p.Kind == 0)
        {
            w[wi] -= p.LearningRate * gj; // SGD
            return;
        }
        if (p.Kind == 2)
        {
            w[wi] *= p.LearningRate; // Scale: the factor travels as the rate
            return;
        }
        int mi = p.M.Offset + r * p.M.Stride + c, vi = p.V.Offset + r * p.V.Stride + c;
        float wj = w[wi] * p.Decay;
        float mj = m[mi] * p.Beta1 + p.OneMinusBeta1 * gj;
        float vj = v[vi] * p.Beta2 + p.OneMinusBeta2 * gj * gj;
        float denominator = MathF.Sqrt(vj) / p.Correction2Sqrt + p.Epsilon;
        m[mi] = mj;
        v[vi] = vj;
        w[wi] = wj - p.LearningRate * (mj / denominator);
    }
}

/// <summary>Z (or gateUp), Dy (or dOut) and Dz (or dGateUp) layouts and the activation's number.</summary>
internal struct ElementwiseBackwardParams
{
    public ViewLayout Z, Dy, Dz;
    public int Activation;
}

/// <summary>
/// One optimizer step over W: Kind 0 = SGD (w −= LearningRate·g), 1 = AdamW (LearningRate is the step size
/// lr/(1 − β₁ᵗ)), 2 = scale w by LearningRate. Unused views repeat W.
/// </summary>
internal struct OptimizerParams
{
    public ViewLayout W, G, M, V;
    public int Kind;
    public float LearningRate, Decay, Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, Correction2Sqrt, Epsilon;
}
