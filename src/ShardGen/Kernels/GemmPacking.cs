using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

/// <summary>
/// Packs blocks of op(A) and op(B) into the layout the micro-kernels stream: contiguous, zero-padded to
/// whole MR/NR panels. Transposes are resolved here, so all four GEMM variants share one micro-kernel.
/// </summary>
internal static unsafe partial class GemmPacking
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
                // Bᵀ (PyTorch weight layout): each column of op(B) is a contiguous source row; 8×8 blocks turn in registers.
                int j8 = Avx.IsSupported ? cols & ~7 : 0, p8 = kc & ~7;
                for (int j = 0; j < j8; j += 8)
                {
                    float* src = b + (nint)(j0 + t + j) * ldb + p0;
                    for (int p = 0; p < p8; p += 8) Transpose8x8(src + p, ldb, panel + (nint)p * nr + j, nr);
                    for (int jj = j; jj < j + 8; jj++)
                    for (int p = p8; p < kc; p++) panel[(nint)p * nr + jj] = b[(nint)(j0 + t + jj) * ldb + p0 + p];
                }
                for (int j = j8; j < cols; j++)
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
        // Aᵀ: the rows of one step p are contiguous in the source; 8×8 blocks turn in registers, the edges one by one.
        int r8 = Avx.IsSupported ? rows & ~7 : 0, p8 = Avx.IsSupported ? kc & ~7 : 0;
        for (int r = 0; r < r8; r += 8)
        for (int p = 0; p < p8; p += 8)
            Transpose8x8(a + (nint)(p0 + p) * lda + i0 + r, lda, dst + (nint)r * kc + p, kc);
        for (int p = 0; p < kc; p++)
        {
            float* src = a + (nint)(p0 + p) * lda + i0;
            int from = p < p8 ? r8 : 0;
            for (int r = from; r < rows; r++) dst[(nint)r * kc + p] = src[r];
        }
    }

    /// <summary>dst[i·ldd + j] = src[j·lds + i] for an 8×8 block (the classic AVX unpack/shuffle/permute transpose).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint lds, float* dst, nint ldd)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + lds);
        var r2 = Avx.LoadVector256(src + 2 * lds);
        var r3 = Avx.LoadVector256(src + 3 * lds);
        var r4 = Avx.LoadVector256(src + 4 * lds);
        var r5 = Avx.LoadVector256(src + 5 * lds);
        var r6 = Avx.LoadVector256(src + 6 * lds);
        var r7 = Avx.LoadVector256(src + 7 * lds);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(s3, s7, 0x31));
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
