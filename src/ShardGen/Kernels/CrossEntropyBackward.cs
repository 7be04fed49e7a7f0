using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// The per-device pieces of a vocab-parallel cross-entropy (Megatron's _VocabParallelCrossEntropy, without gathering
/// the logits): the shard's row maxima and target logits, the shard's Σ exp(l − m) given the global max m, and the
/// gradient scale·(softmax − onehot) on the shard. Sums in double; exponentials in float like the logits, eight at a time
/// (the BCL's vectorised exp; the ragged tail MathF.Exp).
/// </summary>
internal static unsafe class CrossEntropyBackward
{
    /// <summary>Row t: the shard's max, and the target's logit when column targets[t] − firstColumn is in the shard (else 0).</summary>
    public static void Statistics(float* logits, nint ldl, int rows, int cols, int[] targets, int firstColumn,
        float* rowMax, nint ldm, float* targetLogit, nint ldt)
    {
        for (int t = 0; t < rows; t++)
        {
            float* l = logits + t * ldl;
            rowMax[t * ldm] = Max(l, cols);
            long column = (long)targets[t] - firstColumn;
            targetLogit[t * ldt] = column >= 0 && column < cols ? l[column] : 0f;
        }
    }

    /// <summary>The row's max; NaN when any logit is NaN (a NaN logit must reach the loss, not vanish in a max).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Max(float* l, int cols)
    {
        int c = 0;
        float max = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && cols >= 8)
        {
            var acc = Vector256.Create(float.NegativeInfinity);
            var nan = Vector256<float>.Zero;
            for (; c + 8 <= cols; c += 8)
            {
                var x = Vector256.Load(l + c);
                acc = Vector256.Max(acc, x);
                nan |= ~Vector256.Equals(x, x);
            }
            if (nan != Vector256<float>.Zero) return float.NaN;
            for (int i = 0; i < 8; i++) max = MathF.Max(max, acc.GetElement(i));
        }
        for (; c < cols; c++)
            if (l[c] > max || float.IsNaN(l[c])) max = l[c];
        return max;
    }

    /// <summary>The global max of row t: the largest of the k maxima in rowMax's row (one per shard, or one already reduced).</summary>
    public static float GlobalMax(float* rowMax, nint ldm, int k, int t)
    {
        float* m = rowMax + t * ldm;
        float max = m[0];
        for (int i = 1; i < k; i++)
            if (m[i] > max || float.IsNaN(m[i])) max = m[i];
        return max;
    }

    // Compiled optimized from the first call: unoptimized, Vector256.Exp is ~100× slower (measured on SwiGLU, Activations.cs).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumExp(float* logits, nint ldl, int rows, int cols, float* rowMax, nint ldm, int k, float* sumExp, nint lds)
    {
        for (int t = 0; t < rows; t++)
        {
            float* l = logits + t * ldl;
            float max = GlobalMax(rowMax, ldm, k, t);
            int c = 0;
            double sum = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var m = Vector256.Create(max);
                var acc = Vector256<double>.Zero;
                for (; c + 8 <= cols; c += 8)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Exp(Vector256.Load(l + c) - m));
                    acc += lo + hi;
                }
                sum = Vector256.Sum(acc);
            }
            for (; c < cols; c++) sum += MathF.Exp(l[c] - max);
            sumExp[t * lds] = (float)sum;
        }
    }

    // Compiled optimized from the first call: unoptimized, Vector256.Exp is ~100× slower (measured on SwiGLU, Activations.cs).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gradient(float* logits, nint ldl, int rows, int cols, int[] targets, int firstColumn,
        float* rowMax, nint ldm, int k, float* sumExp, nint lds, float scale, float* dLogits, nint ldd)
    {
        for (int t = 0; t < rows; t++)
        {
            float* l = logits + t * ldl, dl = dLogits + t * ldd;
            float max = GlobalMax(rowMax, ldm, k, t);
            float factor = (float)(scale / (double)sumExp[t * lds]);
            int c = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var m = Vector256.Create(max);
                var f = Vector256.Create(factor);
                for (; c + 8 <= cols; c += 8) Vector256.Store(Vector256.Exp(Vector256.Load(l + c) - m) * f, dl + c);
            }
            for (; c < cols; c++) dl[c] = MathF.Exp(l[c] - max) * factor;
            long column = (long)targets[t] - firstColumn;
            if (column >= 0 && column < cols) dl[column] -= scale;
        }
    }
}
