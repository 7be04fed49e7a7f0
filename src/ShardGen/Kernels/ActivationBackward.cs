using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// Derivatives of the activations at the pre-activation z, in double (PyTorch's formulas: Relu′(0) = 0, the tanh GELU's
/// derivative as aten's gelu_backward writes it), and the rows of the elementwise and gated backward.
/// </summary>
internal static unsafe class ActivationBackward
{
    private const double SqrtHalf = 0.70710678118654752440;
    private const double InvSqrtTwoPi = 0.39894228040143267794;
    private const double SqrtTwoOverPi = 0.79788456080286535588;
    private const double GeluCubic = 0.044715;

    public static double Derivative(double z, Activation activation)
    {
        switch (activation)
        {
            case Activation.None: return 1;
            case Activation.Relu: return z <= 0 ? 0 : 1; // threshold_backward: NaN passes the gradient through, as in PyTorch
            case Activation.Gelu: return 0.5 * (1 + Erf.Evaluate(z * SqrtHalf)) + z * InvSqrtTwoPi * Math.Exp(-0.5 * z * z);
            case Activation.GeluTanh:
            {
                double t = Math.Tanh(SqrtTwoOverPi * (z + GeluCubic * z * z * z));
                return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * SqrtTwoOverPi * (1 + 3 * GeluCubic * z * z);
            }
            case Activation.Silu:
            {
                double s = Sigmoid(z);
                return s * (1 + z * (1 - s));
            }
            case Activation.Tanh:
            {
                double t = Math.Tanh(z);
                return 1 - t * t;
            }
            case Activation.Sigmoid:
            {
                double s = Sigmoid(z);
                return s * (1 - s);
            }
            default: throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    /// <summary>dz[j] = dy[j]·act′(z[j]); dz may be dy or z.</summary>
    public static void Row(float* z, float* dy, float* dz, int n, Activation activation)
    {
        if (activation == Activation.None)
        {
            if (dz != dy) Elementwise.CopyRow(dy, dz, n);
            return;
        }
        for (int j = 0; j < n; j++) dz[j] = (float)(dy[j] * Derivative(z[j], activation));
    }

    /// <summary>
    /// From out = act(gate) ⊙ up: dGate = dOut ⊙ up ⊙ act′(gate), dUp = dOut ⊙ act(gate). SiLU (SwiGLU, every LLaMA
    /// MLP) runs eight at a time in float with the BCL's vectorised exp; the rest, and the tail, per element in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GatedRow(float* gate, float* up, float* dOut, float* dGate, float* dUp, int n, Activation activation)
    {
        int start = 0;
        if (activation == Activation.Silu && Vector256.IsHardwareAccelerated)
        {
            var one = Vector256.Create(1f);
            for (; start + 8 <= n; start += 8)
            {
                var g = Vector256.Load(gate + start);
                var d = Vector256.Load(dOut + start);
                var s = one / (one + Vector256.Exp(-g));
                var u = Vector256.Load(up + start);
                // Written after all four loads: dGate and dUp may be the gate and up rows themselves.
                Vector256.Store(d * u * (s * (one + g * (one - s))), dGate + start);
                Vector256.Store(d * (g * s), dUp + start);
            }
        }
        for (int j = start; j < n; j++)
        {
            double g = gate[j], d = dOut[j];
            dGate[j] = (float)(d * up[j] * Derivative(g, activation));
            dUp[j] = (float)(d * Activations.Apply(gate[j], activation));
        }
    }
}
