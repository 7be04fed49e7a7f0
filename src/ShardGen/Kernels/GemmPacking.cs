using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// Packs blocks of op(A) and op(B) into the layout the micro-kernels stream: contiguous, zero-padded to
/// whole MR/NR panels. Transposes are resolved here, so all four GEMM variants share one micro-kernel.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[i0.., p0..] (mc×kc) as ⌈mc/MR⌉ panels; panel t holds kc groups of MR floats
    /// (rows t·MR.., zero past mc). op(A)(i, p) is A[i·lda + p], or A[p·lda + i] when transposed.
    /// </summary>
    public static void PackA(float* a, int lda, bool trans, int i0, int p0, int mc, int kc, int mr, float* dst)
    {
        for (int t = 0; t < mc; t += mr)
        {
            int rows = mc - t < mr ? mc - t : mr;
            float* panel = dst + (nint)t * kc;
            if (!trans)
            {
                // Each source row is contiguous over p: read it once, scatter with stride MR.
                for (int r = 0; r < rows; r++)
                {
                    float* src = a + (nint)(i0 + t + r) * lda + p0;
                    float* d = panel + r;
                    for (int p = 0; p < kc; p++) d[(nint)p * mr] = src[p];
                }
            }
            else
            {
                // Aᵀ: the MR values of one step p are contiguous in the source.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (nint)(p0 + p) * lda + i0 + t;
                    float* d = panel + (nint)p * mr;
                    for (int r = 0; r < rows; r++) d[r] = src[r];
                }
            }
            if (rows < mr)
            {
                for (int p = 0; p < kc; p++)
                for (int r = rows; r < mr; r++)
                    panel[(nint)p * mr + r] = 0f;
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p0.., j0..] (kc×nc) as ⌈nc/NR⌉ panels; panel t holds kc groups of NR floats
    /// (columns t·NR.., zero past nc). op(B)(p, j) is B[p·ldb + j], or B[j·ldb + p] when transposed.
    /// </summary>
    public static void PackB(float* b, int ldb, bool trans, int p0, int j0, int kc, int nc, int nr, float* dst)
    {
        for (int t = 0; t < nc; t += nr)
        {
            int cols = nc - t < nr ? nc - t : nr;
            float* panel = dst + (nint)t * kc;
            if (!trans)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (nint)(p0 + p) * ldb + j0 + t;
                    float* d = panel + (nint)p * nr;
                    CopyRow(src, d, cols);
                    for (int j = cols; j < nr; j++) d[j] = 0f;
                }
            }
            else
            {
                // Bᵀ (PyTorch weight layout): each column of op(B) is a contiguous source row.
                for (int j = 0; j < cols; j++)
                {
                    float* src = b + (nint)(j0 + t + j) * ldb + p0;
                    float* d = panel + j;
                    for (int p = 0; p < kc; p++) d[(nint)p * nr] = src[p];
                }
                if (cols < nr)
                {
                    for (int p = 0; p < kc; p++)
                    for (int j = cols; j < nr; j++)
                        panel[(nint)p * nr + j] = 0f;
                }
            }
        }
    }

    /// <summary>
    /// Rows [i0, i0+rows) of op(A), columns [p0, p0+kc), into row-major dst with stride kc (whole rows, no panels:
    /// the AVX-512 kernel reads A with a row stride). op(A)(i, p) is A[i·lda + p], or A[p·lda + i] when transposed.
    /// </summary>
    public static void PackRows(float* a, int lda, bool trans, int i0, int p0, int rows, int kc, float* dst)
    {
        if (!trans)
        {
            for (int r = 0; r < rows; r++) CopyRow(a + (nint)(i0 + r) * lda + p0, dst + (nint)r * kc, kc);
            return;
        }
        // Aᵀ: the rows of one step p are contiguous in the source.
        for (int p = 0; p < kc; p++)
        {
            float* src = a + (nint)(p0 + p) * lda + i0;
            for (int r = 0; r < rows; r++) dst[(nint)r * kc + p] = src[r];
        }
    }

    /// <summary>
    /// dst[j] = src[j] for packing, where source and panel never overlap. Inlined vector loads beat
    /// Elementwise.CopyRow's memmove call on the short (≤ 64-float) rows packing copies millions of times.
    /// </summary>
    private static void CopyRow(float* src, float* dst, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= n; j += 16) Vector512.Store(Vector512.Load(src + j), dst + j);
        else if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= n; j += 8) Vector256.Store(Vector256.Load(src + j), dst + j);
        for (; j < n; j++) dst[j] = src[j];
    }
}
