using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// The training kernels that sum: bias gradient and embedding scatter (one thread per column, rows in order, so no
/// atomics and the same sums every run), sum of squares (one thread, double), and the vocab-parallel cross-entropy
/// pieces (one thread per row, or per element for the gradient). Same formulas as the CPU backend's.
/// </summary>
internal static class ReductionKernels
{
    public static void BiasGradient(Index1D c, ReductionParams p, ArrayView<float> dy, ArrayView<float> dBias)
    {
        double sum = 0;
        for (int r = 0; r < p.Rows; r++) sum += dy[p.A.Offset + r * p.A.Stride + c];
        int at = p.B.Offset + c;
        dBias[at] = (float)(dBias[at] + sum);
    }

    public static void ScatterAdd(Index1D c, ReductionParams p, ArrayView<int> ids, ArrayView<float> dOut, ArrayView<float> dTable)
    {
        for (int t = 0; t < p.Rows; t++)
        {
            int row = ids[t] - p.First; // both ≥ 0: no overflow
            if (row >= 0 && row < p.Count) dTable[p.B.Offset + row * p.B.Stride + c] += dOut[p.A.Offset + t * p.A.Stride + c];
        }
    }

    public static void SumOfSquares(Index1D i, ReductionParams p, ArrayView<float> g, ArrayView<float> result)
    {
        double sum = 0;
        for (int r = 0; r < p.Rows; r++)
            for (int c = 0; c < p.A.Cols; c++)
            {
                double v = g[p.A.Offset + r * p.A.Stride + c];
                sum += v * v;
            }
        result[p.B.Offset] = (float)(result[p.B.Offset] + sum);
    }

    private static float GlobalMax(ReductionParams p, ArrayView<float> maxima, int t)
    {
        int at = p.M.Offset + t * p.M.Stride;
        float max = maxima[at];
        for (int i = 1; i < p.Count; i++)
        {
            float m = maxima[at + i];
            if (m > max || float.IsNaN(m)) max = m;
        }
        return max;
    }

    /// <summary>Row t: the shard's max into M, the target's logit (or 0) into B.</summary>
    public static void Statistics(Index1D t, ReductionParams p, ArrayView<int> targets, ArrayView<float> logits, ArrayView<float> maxima, ArrayView<float> target)
    {
        int row = p.A.Offset + t * p.A.Stride;
        float max = float.NegativeInfinity;
        for (int c = 0; c < p.A.Cols; c++)
        {
            float l = logits[row + c];
            if (l > max || float.IsNaN(l)) max = l;
        }
        maxima[p.M.Offset + t * p.M.Stride] = max;
        int column = targets[t] - p.First;
        target[p.B.Offset + t * p.B.Stride] = column >= 0 && column < p.A.Cols ? logits[row + column] : 0f;
    }

    public static void SumExp(Index1D t, ReductionParams p, ArrayView<float> logits, ArrayView<float> maxima, ArrayView<float> sums)
    {
        float max = GlobalMax(p, maxima, t);
        int row = p.A.Offset + t * p.A.Stride;
        double sum = 0;
        for (int c = 0; c < p.A.Cols; c++) sum += KernelMath.Exp(logits[row + c] - max);
        sums[p.B.Offset + t * p.B.Stride] = (float)sum;
    }

    /// <summary>Element (t, c): scale·(exp(l − m)/Σ − [c = target]); may write over the logits.</summary>
    public static void Gradient(Index1D i, ReductionParams p, ArrayView<int> targets, ArrayView<float> logits, ArrayView<float> maxima,
        ArrayView<float> sums, ArrayView<float> dLogits)
    {
        int cols = p.A.Cols, t = i / cols, c = i - t * cols;
        float max = GlobalMax(p, maxima, t);
        float factor = (float)(p.Scale / (double)sums[p.B.Offset + t * p.B.Stride]);
        float v = KernelMath.Exp(logits[p.A.Offset + t * p.A.Stride + c] - max) * factor;
        if (targets[t] - p.First == c) v -= p.Scale;
        dLogits[p.C.Offset + t * p.C.Stride + c] = v;
    }
}

/// <summary>
/// Views and sizes of a summing kernel: A the input, B the per-column/per-row output, C the gradient, M the row maxima
/// (Count columns); Rows the rows of A; First the first row/column of the shard; Count the table rows or the maxima per row.
/// </summary>
internal struct ReductionParams
{
    public ViewLayout A, B, C, M;
    public int Rows, First, Count;
    public float Scale;
}
