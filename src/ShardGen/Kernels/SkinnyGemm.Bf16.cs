using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

/// <summary>
/// B in bfloat16 (<see cref="GemmArgs.B16"/>: a BF16 checkpoint's weights as stored): the float32 bodies with every
/// weight widened exactly in registers; A, the sums and C stay float32, so only B's bytes halve (decoding's time).
/// Transposed B [N, K] (this file): the tiles of SkinnyGemm.Dots.cs, but each vector load holds 2·Count weights of a
/// row; its even elements (shifted up 16 bits) and its odd ones (the upper halves, masked) are two float32 vectors,
/// dotted with A's even and odd elements, which <see cref="PackA16{L, V}"/> lays out apart. One full-width load per
/// 2·Count weights, no lane-crossing widening. Row-major B [K, N]: SkinnyGemm.Bf16Rows.cs.
/// </summary>
internal static unsafe partial class SkinnyGemm
{
    private static void Bf16<L, V>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged
    {
        if (!g.TransB)
        {
            Rows16<L, V>(g);
            return;
        }
        switch (g.M)
        {
            case 1: Dots16<L, V, One, None>(g); break;
            case 2: Dots16<L, V, Two, None>(g); break;
            case 3: Dots16<L, V, Three, None>(g); break;
            case 4: Dots16<L, V, Four, None>(g); break;
            case 5: Dots16<L, V, Four, One>(g); break;
            case 6: Dots16<L, V, Four, Two>(g); break;
            case 7: Dots16<L, V, Four, Three>(g); break;
            default: Dots16<L, V, Four, Four>(g); break;
        }
    }

    /// <summary>
    /// <see cref="Dots{L, V, R1, R2}"/> for a bfloat16 B: four rows of B a quarter of N apart (contiguous B) or adjacent (a
    /// column slice, ld &gt; K), tiles of up to four rows of A, K in pieces of <see cref="DotDepth"/> elements when
    /// several rows of A share B; rows off their vector boundary read from the boundary before, the lanes outside masked.
    /// Order of additions per output: lane-wise FMAs over the vectors of K (even elements, then odd, per vector), Sum4's
    /// tree, then the ragged tail of K by scalar FMAs.
    /// </summary>
    private static void Dots16<L, V, R1, R2>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged where R1 : struct, IRows where R2 : struct, IRows
    {
        int n = g.N, k = g.K, step = 2 * L.Count;
        nint lda = g.Lda, ldb = g.Ldb, ldc = g.Ldc;
        int q = n / 4;
        bool quarters = ldb == k;
        int shift = quarters && q > 0 ? Shift16<L, V>(g.B16, k) : 0;
        // Elements of K the vectors cover, counted from where the loads start (the row, or the boundary before it).
        int whole = k / step * step;
        var edges = new Edges<V>();
        if (shift > 0)
        {
            whole = (shift + k + step - 1) / step * step;
            int end = shift + k - (whole - step);
            edges = new Edges<V>(L.Load((float*)(EdgeMasks16 + Mask16Lanes - shift)), L.Load((float*)(EdgeMasks16 + 3 * Mask16Lanes - end)), whole - step);
        }
        // The first element of K left to the scalar tail, in the row's own numbering.
        int tail = shift > 0 ? k : whole;
        int piece = R1.Count == 1 ? Math.Max(whole, step) : DotDepth;
        var saved = stackalloc V[32];
        nint tileStep = quarters ? ldb : 4 * ldb, rowStep = quarters ? q * ldb : ldb;
        int cTile = quarters ? 1 : 4;
        nint cs = quarters ? q : 1;
        // A column slice (ld > K): four adjacent rows per tile, each a short run (K = 1024: 2 KB, then a gap) that the
        // hardware prefetchers barely start on before it ends; the next tile's rows are prefetched alongside (measured
        // 0.50 → 0.64 of a read at M = 1, 0.43 → 0.71 at M = 2 on the 2-device o). Contiguous rows stream on their own.
        nint next = quarters ? 0 : tileStep;
        float* ap = PackA16<L, V>(g, whole, shift);
        nint aStep = g.M * step;
        float* a4 = g.A + 4 * lda, c4 = g.C + 4 * ldc;
        for (int t = 0; t < q; t++)
        {
            ushort* row = g.B16 + t * tileStep;
            int p0 = 0;
            do
            {
                int p1 = Math.Min(whole, p0 + piece);
                bool last = p1 == whole;
                DotTile16<L, V, R1>(ap, aStep, g.A, lda, row, shift, rowStep, next, p0, p1, last, tail, k, edges, saved, g.C + t * cTile, ldc, cs, g.Accumulate);
                if (R2.Count > 0)
                    DotTile16<L, V, R2>(ap + 4 * step, aStep, a4, lda, row, shift, rowStep, next, p0, p1, last, tail, k, edges, saved + 16, c4 + t * cTile, ldc, cs, g.Accumulate);
                p0 = p1;
            } while (p0 < whole);
        }
        // The last N mod 4 rows of B alone, A in place, read only inside each row.
        for (int j = 4 * q; j < n; j++)
        {
            ushort* bj = g.B16 + j * ldb;
            for (int r = 0; r < g.M; r++)
            {
                float* a = g.A + r * lda;
                var s = L.Zero;
                int p = 0;
                for (; p + L.Count <= k; p += L.Count) s = L.Fma(L.Load(a + p), L.LoadWidened(bj + p), s);
                float d = L.Sum(s);
                for (; p < k; p++) d = MathF.FusedMultiplyAdd(a[p], BFloat16.Widen(bj[p]), d);
                float* c = g.C + r * ldc + j;
                *c = g.Accumulate ? *c + d : d;
            }
        }
    }

    /// <summary>
    /// A's rows over the vectors of K, [whole / 2·Count][M][Count even elements, Count odd], shifted with B by
    /// <paramref name="shift"/> elements (zeros outside A), 64-byte aligned in this thread's scratch.
    /// </summary>
    private static float* PackA16<L, V>(in GemmArgs g, int whole, int shift) where L : struct, ILanes<V> where V : unmanaged
    {
        int m = g.M, count = L.Count, k = g.K;
        float* packed = Scratch((long)m * whole);
        float* to = packed;
        for (int p = 0; p < whole; p += 2 * count)
            for (int r = 0; r < m; r++)
            {
                float* a = g.A + r * g.Lda;
                for (int half = 0; half < 2; half++)
                    for (int i = 0; i < count; i++, to++)
                    {
                        int col = p + 2 * i + half - shift;
                        *to = col >= 0 && col < k ? a[col] : 0f;
                    }
            }
        return packed;
    }

    /// <summary>
    /// Elements from the vector boundary before B to B (every row shares it: ld = K) when B is off its boundary by whole
    /// elements and K spans at least two vectors of 2·Count elements; else 0.
    /// </summary>
    private static int Shift16<L, V>(ushort* b, int k) where L : struct, ILanes<V> where V : unmanaged
    {
        int bytes = L.Count * sizeof(float);
        nint off = (nint)b & (bytes - 1);
        if (NoPeel || off == 0 || (off & 1) != 0 || k * sizeof(ushort) % bytes != 0 || k < 4 * L.Count) return 0;
        return (int)off / sizeof(ushort);
    }

    private const int Mask16Lanes = 32;

    /// <summary>32 16-bit lanes of zeros, 64 of ones, 32 of zeros: a vector loaded at 32 − s keeps lanes ≥ s, at 96 − e lanes &lt; e.</summary>
    private static readonly ushort* EdgeMasks16 = MakeMasks16();

    private static ushort* MakeMasks16()
    {
        var m = (ushort*)NativeMemory.AlignedAlloc(4 * Mask16Lanes * sizeof(ushort), 64);
        for (int i = 0; i < 4 * Mask16Lanes; i++) m[i] = i >= Mask16Lanes && i < 3 * Mask16Lanes ? ushort.MaxValue : (ushort)0;
        return m;
    }

    /// <summary>
    /// <see cref="DotTile{L, V, R}"/> for a bfloat16 B: the lanes of a[r, p0..p1)·b[i, p0..p1) for the R rows of A and
    /// four rows of B (<paramref name="ldb"/> apart, the first at <paramref name="row"/>, loads starting
    /// <paramref name="shift"/> elements before it; the same lines <paramref name="next"/> elements on prefetched unless
    /// 0), added to the saved sums; the last piece adds the tail [tail, k) and
    /// writes c[r, i·cs] for i = 0..3, else the sums are saved.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTile16<L, V, R>(float* ap, nint aStep, float* a, nint lda, ushort* row, int shift, nint ldb, nint next, int p0, int p1, bool last, int tail, int k,
        in Edges<V> edges, V* saved, float* c, nint ldc, nint cs, bool accumulate)
        where L : struct, ILanes<V> where V : unmanaged where R : struct, IRows
    {
        int step = 2 * L.Count;
        float* xp = ap + p0 / step * aStep;
        ushort* b0 = row - shift, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        nint x1 = step, x2 = 2 * step, x3 = 3 * step, odd = L.Count;
        V s00 = L.Zero, s01 = L.Zero, s02 = L.Zero, s03 = L.Zero;
        V s10 = L.Zero, s11 = L.Zero, s12 = L.Zero, s13 = L.Zero;
        V s20 = L.Zero, s21 = L.Zero, s22 = L.Zero, s23 = L.Zero;
        V s30 = L.Zero, s31 = L.Zero, s32 = L.Zero, s33 = L.Zero;
        if (p0 > 0)
        {
            s00 = saved[0]; s01 = saved[1]; s02 = saved[2]; s03 = saved[3];
            if (R.Count > 1) { s10 = saved[4]; s11 = saved[5]; s12 = saved[6]; s13 = saved[7]; }
            if (R.Count > 2) { s20 = saved[8]; s21 = saved[9]; s22 = saved[10]; s23 = saved[11]; }
            if (R.Count > 3) { s30 = saved[12]; s31 = saved[13]; s32 = saved[14]; s33 = saved[15]; }
        }
        bool shifted = edges.Shifted;
        int lastVector = edges.Last;
        for (int p = p0; p < p1; p += step, xp += aStep)
        {
            if (next != 0 && Sse.IsSupported)
            {
                Sse.Prefetch0(b0 + p + next);
                Sse.Prefetch0(b1 + p + next);
                Sse.Prefetch0(b2 + p + next);
                Sse.Prefetch0(b3 + p + next);
            }
            var w0 = L.Load((float*)(b0 + p));
            var w1 = L.Load((float*)(b1 + p));
            var w2 = L.Load((float*)(b2 + p));
            var w3 = L.Load((float*)(b3 + p));
            if (shifted && (p == 0 || p == lastVector))
            {
                var mask = p == 0 ? edges.Head : edges.Tail;
                w0 = L.And(w0, mask);
                w1 = L.And(w1, mask);
                w2 = L.And(w2, mask);
                w3 = L.And(w3, mask);
            }
            var e0 = L.Even(w0);
            var e1 = L.Even(w1);
            var e2 = L.Even(w2);
            var e3 = L.Even(w3);
            var x = L.Load(xp);
            s00 = L.Fma(x, e0, s00);
            s01 = L.Fma(x, e1, s01);
            s02 = L.Fma(x, e2, s02);
            s03 = L.Fma(x, e3, s03);
            if (R.Count > 1)
            {
                x = L.Load(xp + x1);
                s10 = L.Fma(x, e0, s10);
                s11 = L.Fma(x, e1, s11);
                s12 = L.Fma(x, e2, s12);
                s13 = L.Fma(x, e3, s13);
            }
            if (R.Count > 2)
            {
                x = L.Load(xp + x2);
                s20 = L.Fma(x, e0, s20);
                s21 = L.Fma(x, e1, s21);
                s22 = L.Fma(x, e2, s22);
                s23 = L.Fma(x, e3, s23);
            }
            if (R.Count > 3)
            {
                x = L.Load(xp + x3);
                s30 = L.Fma(x, e0, s30);
                s31 = L.Fma(x, e1, s31);
                s32 = L.Fma(x, e2, s32);
                s33 = L.Fma(x, e3, s33);
            }
            e0 = L.Odd(w0);
            e1 = L.Odd(w1);
            e2 = L.Odd(w2);
            e3 = L.Odd(w3);
            x = L.Load(xp + odd);
            s00 = L.Fma(x, e0, s00);
            s01 = L.Fma(x, e1, s01);
            s02 = L.Fma(x, e2, s02);
            s03 = L.Fma(x, e3, s03);
            if (R.Count > 1)
            {
                x = L.Load(xp + x1 + odd);
                s10 = L.Fma(x, e0, s10);
                s11 = L.Fma(x, e1, s11);
                s12 = L.Fma(x, e2, s12);
                s13 = L.Fma(x, e3, s13);
            }
            if (R.Count > 2)
            {
                x = L.Load(xp + x2 + odd);
                s20 = L.Fma(x, e0, s20);
                s21 = L.Fma(x, e1, s21);
                s22 = L.Fma(x, e2, s22);
                s23 = L.Fma(x, e3, s23);
            }
            if (R.Count > 3)
            {
                x = L.Load(xp + x3 + odd);
                s30 = L.Fma(x, e0, s30);
                s31 = L.Fma(x, e1, s31);
                s32 = L.Fma(x, e2, s32);
                s33 = L.Fma(x, e3, s33);
            }
        }
        if (!last)
        {
            saved[0] = s00; saved[1] = s01; saved[2] = s02; saved[3] = s03;
            if (R.Count > 1) { saved[4] = s10; saved[5] = s11; saved[6] = s12; saved[7] = s13; }
            if (R.Count > 2) { saved[8] = s20; saved[9] = s21; saved[10] = s22; saved[11] = s23; }
            if (R.Count > 3) { saved[12] = s30; saved[13] = s31; saved[14] = s32; saved[15] = s33; }
            return;
        }
        DotsOut16(L.Sum4(s00, s01, s02, s03), a, row, ldb, tail, k, c, cs, accumulate);
        if (R.Count > 1) DotsOut16(L.Sum4(s10, s11, s12, s13), a + lda, row, ldb, tail, k, c + ldc, cs, accumulate);
        if (R.Count > 2) DotsOut16(L.Sum4(s20, s21, s22, s23), a + 2 * lda, row, ldb, tail, k, c + 2 * ldc, cs, accumulate);
        if (R.Count > 3) DotsOut16(L.Sum4(s30, s31, s32, s33), a + 3 * lda, row, ldb, tail, k, c + 3 * ldc, cs, accumulate);
    }

    /// <summary>Adds K's ragged tail [p, k) to one row of A's four dot products and writes them to c[0], c[cs], c[2cs], c[3cs].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotsOut16(Vector128<float> sums, float* a, ushort* b, nint ldb, int p, int k, float* c, nint cs, bool accumulate)
    {
        float d0 = sums.GetElement(0), d1 = sums.GetElement(1), d2 = sums.GetElement(2), d3 = sums.GetElement(3);
        for (; p < k; p++)
        {
            float x = a[p];
            d0 = MathF.FusedMultiplyAdd(x, BFloat16.Widen(b[p]), d0);
            d1 = MathF.FusedMultiplyAdd(x, BFloat16.Widen(b[ldb + p]), d1);
            d2 = MathF.FusedMultiplyAdd(x, BFloat16.Widen(b[2 * ldb + p]), d2);
            d3 = MathF.FusedMultiplyAdd(x, BFloat16.Widen(b[3 * ldb + p]), d3);
        }
        if (accumulate)
        {
            d0 += c[0];
            d1 += c[cs];
            d2 += c[2 * cs];
            d3 += c[3 * cs];
        }
        c[0] = d0;
        c[cs] = d1;
        c[2 * cs] = d2;
        c[3 * cs] = d3;
    }
}
