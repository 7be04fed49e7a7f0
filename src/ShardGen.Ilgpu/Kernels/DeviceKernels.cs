using System;
using System.Runtime.CompilerServices;
using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// The ILGPU kernels of the backend. Same semantics as the CPU backend's kernels (src/ShardGen/Kernels): the
/// GELU is the erf form with erf evaluated in double, LayerNorm's variance is the two-pass centred sum, softmax
/// subtracts the row max before exp.
/// </summary>
internal static class DeviceKernels
{
    /// <summary>Largest group of the row kernels (norms, softmax): the reduction scratch is MaxRowGroup floats.</summary>
    public const int MaxRowGroup = 256;

    // ---------------------------------------------------------------- elementwise (auto-grouped, one thread per element)

    /// <summary>destination = source, element i of a rows × cols view (row-major index).</summary>
    public static void Copy(Index1D i, ViewLayout s, ViewLayout d, ArrayView<float> source, ArrayView<float> destination)
    {
        int r = i / s.Cols, col = i - r * s.Cols;
        destination[d.Offset + r * d.Stride + col] = source[s.Offset + r * s.Stride + col];
    }

    /// <summary>destination += source.</summary>
    public static void Add(Index1D i, ViewLayout s, ViewLayout d, ArrayView<float> source, ArrayView<float> destination)
    {
        int r = i / s.Cols, col = i - r * s.Cols;
        int at = d.Offset + r * d.Stride + col;
        destination[at] = destination[at] + source[s.Offset + r * s.Stride + col];
    }

    /// <summary>destination = 0, element i of a rows × cols view.</summary>
    public static void Zero(Index1D i, ViewLayout d, ArrayView<float> destination)
    {
        int r = i / d.Cols, col = i - r * d.Cols;
        destination[d.Offset + r * d.Stride + col] = 0f;
    }

    /// <summary>C[r, c] = act(C[r, c] + bias[c]).</summary>
    public static void BiasActivation(Index1D i, BiasActivationParams p, ArrayView<float> c, ArrayView<float> bias)
    {
        int r = i / p.C.Cols, col = i - r * p.C.Cols;
        int at = p.C.Offset + r * p.C.Stride + col;
        float v = c[at];
        if (p.HasBias != 0) v += bias[p.BiasOffset + col];
        c[at] = Activate(v, p.Activation);
    }

    // ---------------------------------------------------------------- row kernels (one group per row)

    /// <summary>LayerNorm / RmsNorm of row Grid.IdxX; x and y may be the same row (each thread writes only what it read).</summary>
    public static void Normalize(NormParams p, ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta)
    {
        var scratch = SharedMemory.Allocate<float>(MaxRowGroup);
        int row = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        int xRow = p.XOffset + row * p.Ldx, yRow = p.YOffset + row * p.Ldy;
        int n = p.Cols;
        float centre = 0f;
        if (p.Kind == 0)
        {
            float s = 0f;
            for (int j = tid; j < n; j += g) s += x[xRow + j];
            centre = GroupSum(scratch, s, tid, g) / n;
        }
        float q = 0f;
        for (int j = tid; j < n; j += g)
        {
            float d = x[xRow + j] - centre;
            q += d * d;
        }
        float variance = GroupSum(scratch, q, tid, g) / n;
        float rstd = 1f / MathF.Sqrt(variance + p.Epsilon);
        for (int j = tid; j < n; j += g)
        {
            float v = (x[xRow + j] - centre) * rstd * gamma[p.GammaOffset + j];
            if (p.Kind == 0 && p.HasBeta != 0) v += beta[p.BetaOffset + j];
            y[yRow + j] = v;
        }
    }

    /// <summary>Scaled, optionally causal softmax of score row Grid.IdxX (see <see cref="SoftmaxParams"/>).</summary>
    public static void Softmax(SoftmaxParams p, ArrayView<float> scores)
    {
        var scratch = SharedMemory.Allocate<float>(MaxRowGroup);
        int row = Grid.IdxX, tid = Group.IdxX, g = Group.DimX;
        int i = p.FirstQuery + row % p.QueryRows; // query position inside the sequence
        // The row's own columns [first, valid): its causal limit and a sliding window's first key, both past FirstKey.
        int valid = p.Causal != 0 ? i + 1 - p.FirstKey : p.Length;
        int first = p.Window > 0 && i - p.Window + 1 > p.FirstKey ? i - p.Window + 1 - p.FirstKey : 0;
        int at = p.Offset + row * p.Length;
        float m = float.NegativeInfinity;
        for (int j = first + tid; j < valid; j += g) m = MathF.Max(m, scores[at + j]);
        float max = GroupMax(scratch, m, tid, g);
        float s = 0f;
        for (int j = first + tid; j < valid; j += g)
        {
            float e = KernelMath.Exp((scores[at + j] - max) * p.Scale);
            scores[at + j] = e;
            s += e;
        }
        float inverse = 1f / GroupSum(scratch, s, tid, g);
        for (int j = first + tid; j < valid; j += g) scores[at + j] *= inverse;
    }

    /// <summary>
    /// Causal P·V of the keys a strip's queries do not all share (see <see cref="CausalBandParams"/>): each query sums
    /// only its own keys, so a NaN or ∞ in a key it does not see never reaches it (0·NaN would be NaN), and under a
    /// sliding window it visits exactly its W keys. Summed in key order: the keys before the shared rectangle, the
    /// rectangle's GEMM sum, then the diagonal, as the CPU kernel orders them.
    /// </summary>
    public static void CausalBand(Index1D index, CausalBandParams p, ArrayView<float> scores, ArrayView<float> values, ArrayView<float> output)
    {
        int c = index % p.HeadDim, rest = index / p.HeadDim;
        int q = rest % p.QueryRows, h = rest / p.QueryRows;
        int s = (h * p.QueryRows + q) * p.ScoreLd;
        int v = p.VOffset + h / p.Group * p.HeadDim + c;
        int o = p.OOffset + q * p.Ldo + h * p.HeadDim + c;
        int own = p.Diagonal + q; // this query's own key
        int first = p.Window > 0 && own - p.Window + 1 > 0 ? own - p.Window + 1 : 0;
        float sum = 0f;
        for (int j = first; j < p.Shared; j++) sum += scores[s + j] * values[v + j * p.Ldv];
        if (p.Accumulate != 0) sum += output[o];
        for (int j = first > p.Diagonal ? first : p.Diagonal; j <= own; j++) sum += scores[s + j] * values[v + j * p.Ldv];
        output[o] = sum;
    }

    /// <summary>Tree sum over the group (g a power of two); every thread gets the total.</summary>
    private static float GroupSum(ArrayView<float> scratch, float value, int tid, int g)
    {
        scratch[tid] = value;
        Group.Barrier();
        for (int half = g / 2; half > 0; half /= 2)
        {
            if (tid < half) scratch[tid] = scratch[tid] + scratch[tid + half];
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }

    private static float GroupMax(ArrayView<float> scratch, float value, int tid, int g)
    {
        scratch[tid] = value;
        Group.Barrier();
        for (int half = g / 2; half > 0; half /= 2)
        {
            if (tid < half) scratch[tid] = MathF.Max(scratch[tid], scratch[tid + half]);
            Group.Barrier();
        }
        float total = scratch[0];
        Group.Barrier();
        return total;
    }

    // ---------------------------------------------------------------- activations

    private const float SqrtHalf = 0.70710678118654752f;
    private const float TwoSqrtTwoOverPi = 1.5957691216057308f;
    private const float GeluCubic = 0.044715f;

    /// <summary>
    /// The activation with the numeric value of <see cref="ShardGen.Activation"/>. Not inlined: the GEMM epilogue
    /// calls it 64 times per thread, and one copy of the erf series is enough.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Activate(float x, int activation)
    {
        switch (activation)
        {
            case 1: return x < 0f ? 0f : x;                                                    // Relu (NaN stays NaN)
            case 2: return (float)(0.5 * x * (1.0 + Erf(x * (double)SqrtHalf)));                 // Gelu (erf)
            case 3: return x * Sigmoid(TwoSqrtTwoOverPi * (x + GeluCubic * x * x * x));         // GeluTanh
            case 4: return x * Sigmoid(x);                                                      // Silu
            case 5:                                                                             // Tanh, no overflow
            {
                float e = KernelMath.Exp(-2f * MathF.Abs(x));
                float t = (1f - e) / (1f + e);
                return x < 0f ? -t : t;
            }
            case 6: return Sigmoid(x);                                                          // Sigmoid
            default: return x;                                                                  // None
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + KernelMath.Exp(-x));

    /// <summary>
    /// erf in double, as the CPU backend: the Maclaurin series (20 terms) for |x| &lt; 1.5, the Numerical Recipes
    /// erfc beyond (absolute error below 4e-9 there).
    /// </summary>
    public static double Erf(double x)
    {
        double z = Math.Abs(x);
        if (z < 1.5)
        {
            // erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n!(2n+1)).
            double x2 = x * x, term = x, sum = x;
            for (int n = 1; n < 20; n++)
            {
                term *= -x2 / n;
                sum += term / (2 * n + 1);
            }
            return 1.1283791670955126 * sum;
        }
        double t = 1.0 / (1.0 + 0.5 * z);
        double poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        double tail = t * KernelMath.Exp(-z * z + poly);
        return x < 0 ? tail - 1.0 : 1.0 - tail;
    }
}
