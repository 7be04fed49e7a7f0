using System;
using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// The ILGPU kernels of the backend. Same semantics as the CPU backend's kernels (src/ShardGen/Kernels): the
/// GELU is the erf form with erf evaluated in double, LayerNorm's variance is the two-pass centred sum, softmax
/// subtracts the row max before exp.
/// </summary>
internal static class DeviceKernels
{
    /// <summary>Largest GEMM tile side: the shared tiles are statically MaxTile² floats each.</summary>
    public const int MaxTile = 16;

    /// <summary>Largest group of the row kernels (norms, softmax): the reduction scratch is MaxRowGroup floats.</summary>
    public const int MaxRowGroup = 256;

    // ---------------------------------------------------------------- GEMM

    /// <summary>
    /// Shared-memory tiled GEMM, one Tile×Tile group per Tile×Tile block of C, one element per thread; the K loop
    /// stages a Tile×Tile block of op(A) and of op(B) in shared memory per step. Loads are arranged so that
    /// consecutive threads read consecutive addresses for every transpose combination. Grid: (⌈N/T⌉, ⌈M/T⌉, batch).
    /// </summary>
    public static void Gemm(GemmParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias)
    {
        var tileA = SharedMemory.Allocate<float>(MaxTile * MaxTile); // tileA[r·T + k] = op(A)[row0 + r, k0 + k]
        var tileB = SharedMemory.Allocate<float>(MaxTile * MaxTile); // tileB[k·T + j] = op(B)[k0 + k, col0 + j]
        int t = p.Tile;
        int tx = Group.IdxX, ty = Group.IdxY;
        int row0 = Grid.IdxY * t, col0 = Grid.IdxX * t;
        int z = Grid.IdxZ;
        int aBase = p.AOffset + z * p.ABatch;
        int bBase = p.BOffset + (z / p.BBatchDivisor) * p.BBatch;
        int cBase = p.COffset + z * p.CBatch;
        float acc = 0f;
        for (int k0 = 0; k0 < p.K; k0 += t)
        {
            if (p.TransposeA == 0)
            {
                int r = row0 + ty, k = k0 + tx;
                tileA[ty * t + tx] = r < p.M && k < p.K ? a[aBase + r * p.Lda + k] : 0f;
            }
            else
            {
                int r = row0 + tx, k = k0 + ty;
                tileA[tx * t + ty] = r < p.M && k < p.K ? a[aBase + k * p.Lda + r] : 0f;
            }
            if (p.TransposeB == 0)
            {
                int k = k0 + ty, j = col0 + tx;
                tileB[ty * t + tx] = k < p.K && j < p.N ? b[bBase + k * p.Ldb + j] : 0f;
            }
            else
            {
                int k = k0 + tx, j = col0 + ty;
                tileB[tx * t + ty] = k < p.K && j < p.N ? b[bBase + j * p.Ldb + k] : 0f;
            }
            Group.Barrier();
            for (int k = 0; k < t; k++) acc += tileA[ty * t + k] * tileB[k * t + tx];
            Group.Barrier();
        }
        int row = row0 + ty, col = col0 + tx;
        if (row < p.M && col < p.N)
        {
            int at = cBase + row * p.Ldc + col;
            float v = p.Accumulate != 0 ? c[at] + acc : acc;
            if (p.HasBias != 0) v += bias[p.BiasOffset + col];
            c[at] = Activate(v, p.Activation);
        }
    }

    // ---------------------------------------------------------------- elementwise (auto-grouped, one thread per element)

    /// <summary>destination = source, element i of a rows × cols block (row-major index).</summary>
    public static void Copy(Index1D i, Block2D s, Block2D d, ArrayView<float> source, ArrayView<float> destination)
    {
        int r = i / s.Cols, col = i - r * s.Cols;
        destination[d.Offset + r * d.Stride + col] = source[s.Offset + r * s.Stride + col];
    }

    /// <summary>destination += source.</summary>
    public static void Add(Index1D i, Block2D s, Block2D d, ArrayView<float> source, ArrayView<float> destination)
    {
        int r = i / s.Cols, col = i - r * s.Cols;
        int at = d.Offset + r * d.Stride + col;
        destination[at] = destination[at] + source[s.Offset + r * s.Stride + col];
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
        int n = p.Length;
        int i = row % n; // query position inside the sequence
        int valid = p.Causal != 0 ? i + 1 : n;
        int at = p.Offset + row * n;
        float m = float.NegativeInfinity;
        for (int j = tid; j < valid; j += g) m = MathF.Max(m, scores[at + j]);
        float max = GroupMax(scratch, m, tid, g);
        float s = 0f;
        for (int j = tid; j < valid; j += g)
        {
            float e = MathF.Exp((scores[at + j] - max) * p.Scale);
            scores[at + j] = e;
            s += e;
        }
        float inverse = 1f / GroupSum(scratch, s, tid, g);
        for (int j = tid; j < n; j += g)
            scores[at + j] = j < valid ? scores[at + j] * inverse : 0f;
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

    /// <summary>The activation with the numeric value of <see cref="ShardGen.Activation"/>.</summary>
    public static float Activate(float x, int activation)
    {
        switch (activation)
        {
            case 1: return x > 0f ? x : 0f;                                                    // Relu
            case 2: return (float)(0.5 * x * (1.0 + Erf(x * (double)SqrtHalf)));                 // Gelu (erf)
            case 3: return x * Sigmoid(TwoSqrtTwoOverPi * (x + GeluCubic * x * x * x));         // GeluTanh
            case 4: return x * Sigmoid(x);                                                      // Silu
            case 5:                                                                             // Tanh, no overflow
            {
                float e = MathF.Exp(-2f * MathF.Abs(x));
                float t = (1f - e) / (1f + e);
                return x < 0f ? -t : t;
            }
            case 6: return Sigmoid(x);                                                          // Sigmoid
            default: return x;                                                                  // None
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

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
        double tail = t * Math.Exp(-z * z + poly);
        return x < 0 ? tail - 1.0 : 1.0 - tail;
    }
}
