using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// The register-tiled bodies: up to four rows of A against four rows of B (transposed) or four vectors of C's columns
/// (row-major) at once, so each weight loaded from memory feeds every row of A from registers. Five to eight rows of A
/// run as two tiles over the same weights, the second reading them from L1/L2. The row counts are type arguments
/// (<see cref="IRows"/>), so the JIT compiles one body per count with the unused rows removed.
/// </summary>
internal static unsafe partial class SkinnyGemm
{
    /// <summary>A row count known when the JIT specializes a body (0 … 4).</summary>
    internal interface IRows
    {
        static abstract int Count { get; }
    }

    internal struct None : IRows { public static int Count => 0; }
    internal struct One : IRows { public static int Count => 1; }
    internal struct Two : IRows { public static int Count => 2; }
    internal struct Three : IRows { public static int Count => 3; }
    internal struct Four : IRows { public static int Count => 4; }

    /// <summary>
    /// Rows of B added per pass over a chunk of C by the tiled row-major body: C's tile is loaded and stored once per
    /// this many rows, and B is read as this many sequential streams.
    /// </summary>
    private const int TileDepth = 8;

    /// <summary>The body for g.M rows: rows 0–3 of A as one tile, rows 4–7 as a second.</summary>
    private static void Body<L, V>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged
    {
        switch (g.M)
        {
            case 1: Tiled<L, V, One, None>(g); break;
            case 2: Tiled<L, V, Two, None>(g); break;
            case 3: Tiled<L, V, Three, None>(g); break;
            case 4: Tiled<L, V, Four, None>(g); break;
            case 5: Tiled<L, V, Four, One>(g); break;
            case 6: Tiled<L, V, Four, Two>(g); break;
            case 7: Tiled<L, V, Four, Three>(g); break;
            default: Tiled<L, V, Four, Four>(g); break;
        }
    }

    private static void Tiled<L, V, R1, R2>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged where R1 : struct, IRows where R2 : struct, IRows
    {
        if (g.TransB) Dots<L, V, R1, R2>(g);
        else if (R1.Count == 1) Rows<L, V>(g);
        else TiledRows<L, V, R1, R2>(g);
    }

    // ------------------------------------------------------------------ B [N, K] (Bᵀ): C[r, j] = A[r, :]·B[j, :]

    /// <summary>
    /// Four rows of B at a time (four sequential streams), each dotted with every row of A; the sums of a tile are
    /// reduced together (<see cref="ILanes{V}.Sum4"/>). Order of additions per output: lane-wise FMAs over the whole
    /// vectors of K, the lanes summed by Sum4's tree, then the ragged tail of K by scalar FMAs.
    /// </summary>
    private static void Dots<L, V, R1, R2>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged where R1 : struct, IRows where R2 : struct, IRows
    {
        int n = g.N, k = g.K;
        nint lda = g.Lda, ldb = g.Ldb, ldc = g.Ldc;
        float* a4 = g.A + 4 * lda, c4 = g.C + 4 * ldc;
        int j = 0;
        for (; j + 4 <= n; j += 4)
        {
            float* b = g.B + j * ldb;
            DotTile<L, V, R1>(g.A, lda, b, ldb, k, g.C + j, ldc, g.Accumulate);
            if (R2.Count > 0) DotTile<L, V, R2>(a4, lda, b, ldb, k, c4 + j, ldc, g.Accumulate);
        }
        for (; j < n; j++)
        {
            float* bj = g.B + j * ldb;
            for (int r = 0; r < g.M; r++)
            {
                float* a = g.A + r * lda;
                var s = L.Zero;
                int p = 0;
                for (; p + L.Count <= k; p += L.Count) s = L.Fma(L.Load(a + p), L.Load(bj + p), s);
                float d = L.Sum(s);
                for (; p < k; p++) d = MathF.FusedMultiplyAdd(a[p], bj[p], d);
                float* c = g.C + r * ldc + j;
                *c = g.Accumulate ? *c + d : d;
            }
        }
    }

    /// <summary>c[r, 0..4) (+)= a[r, :]·b[i, :] for the <typeparamref name="R"/> rows of A and four rows of B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTile<L, V, R>(float* a, nint lda, float* b, nint ldb, int k, float* c, nint ldc, bool accumulate)
        where L : struct, ILanes<V> where V : unmanaged where R : struct, IRows
    {
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
        float* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        V s00 = L.Zero, s01 = L.Zero, s02 = L.Zero, s03 = L.Zero;
        V s10 = L.Zero, s11 = L.Zero, s12 = L.Zero, s13 = L.Zero;
        V s20 = L.Zero, s21 = L.Zero, s22 = L.Zero, s23 = L.Zero;
        V s30 = L.Zero, s31 = L.Zero, s32 = L.Zero, s33 = L.Zero;
        int p = 0;
        for (; p + L.Count <= k; p += L.Count)
        {
            var w0 = L.Load(b + p);
            var w1 = L.Load(b1 + p);
            var w2 = L.Load(b2 + p);
            var w3 = L.Load(b3 + p);
            var x = L.Load(a + p);
            s00 = L.Fma(x, w0, s00);
            s01 = L.Fma(x, w1, s01);
            s02 = L.Fma(x, w2, s02);
            s03 = L.Fma(x, w3, s03);
            if (R.Count > 1)
            {
                x = L.Load(a1 + p);
                s10 = L.Fma(x, w0, s10);
                s11 = L.Fma(x, w1, s11);
                s12 = L.Fma(x, w2, s12);
                s13 = L.Fma(x, w3, s13);
            }
            if (R.Count > 2)
            {
                x = L.Load(a2 + p);
                s20 = L.Fma(x, w0, s20);
                s21 = L.Fma(x, w1, s21);
                s22 = L.Fma(x, w2, s22);
                s23 = L.Fma(x, w3, s23);
            }
            if (R.Count > 3)
            {
                x = L.Load(a3 + p);
                s30 = L.Fma(x, w0, s30);
                s31 = L.Fma(x, w1, s31);
                s32 = L.Fma(x, w2, s32);
                s33 = L.Fma(x, w3, s33);
            }
        }
        DotsOut(L.Sum4(s00, s01, s02, s03), a, b, ldb, p, k, c, accumulate);
        if (R.Count > 1) DotsOut(L.Sum4(s10, s11, s12, s13), a1, b, ldb, p, k, c + ldc, accumulate);
        if (R.Count > 2) DotsOut(L.Sum4(s20, s21, s22, s23), a2, b, ldb, p, k, c + 2 * ldc, accumulate);
        if (R.Count > 3) DotsOut(L.Sum4(s30, s31, s32, s33), a3, b, ldb, p, k, c + 3 * ldc, accumulate);
    }

    /// <summary>Adds K's ragged tail [p, k) to one row of A's four dot products and writes them to c[0..4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotsOut(Vector128<float> sums, float* a, float* b, nint ldb, int p, int k, float* c, bool accumulate)
    {
        if (p < k)
        {
            float d0 = sums.GetElement(0), d1 = sums.GetElement(1), d2 = sums.GetElement(2), d3 = sums.GetElement(3);
            for (; p < k; p++)
            {
                float x = a[p];
                d0 = MathF.FusedMultiplyAdd(x, b[p], d0);
                d1 = MathF.FusedMultiplyAdd(x, b[ldb + p], d1);
                d2 = MathF.FusedMultiplyAdd(x, b[2 * ldb + p], d2);
                d3 = MathF.FusedMultiplyAdd(x, b[3 * ldb + p], d3);
            }
            sums = Vector128.Create(d0, d1, d2, d3);
        }
        if (accumulate) sums = Vector128.Load(c) + sums;
        sums.Store(c);
    }

    // ------------------------------------------------------------------ B [K, N], 2–8 rows of A

    /// <summary>
    /// As the one-row body (a chunk of C's columns in L2, <see cref="TileDepth"/> rows of B per pass), but C's tile —
    /// the rows of A by four vectors — stays in registers for the whole pass. Same additions in the same order as a
    /// row-by-row loop: c = fma(a[r, p], b[p, j], c) for p ascending.
    /// </summary>
    private static void TiledRows<L, V, R1, R2>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged where R1 : struct, IRows where R2 : struct, IRows
    {
        int m = g.M, n = g.N, k = g.K;
        int chunk = Math.Max(64, ChunkFloats / m / 16 * 16);
        for (int j0 = 0; j0 < n; j0 += chunk)
        {
            int cols = Math.Min(chunk, n - j0);
            float* c = g.C + j0;
            if (!g.Accumulate)
                for (int r = 0; r < m; r++) new Span<float>(c + r * g.Ldc, cols).Clear();
            for (int p = 0; p < k; p += TileDepth)
                RowPass<L, V, R1, R2>(g.A + p, g.Lda, g.B + j0 + p * g.Ldb, g.Ldb, Math.Min(TileDepth, k - p), c, g.Ldc, cols);
        }
    }

    /// <summary>c[r, :cols] += Σ_{i &lt; depth} a[r, i]·b[i, :cols] for R1 + R2 rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowPass<L, V, R1, R2>(float* a, nint lda, float* b, nint ldb, int depth, float* c, nint ldc, int cols)
        where L : struct, ILanes<V> where V : unmanaged where R1 : struct, IRows where R2 : struct, IRows
    {
        float* a4 = a + 4 * lda, c4 = c + 4 * ldc;
        int j = 0;
        for (; j + 4 * L.Count <= cols; j += 4 * L.Count)
        {
            RowTile<L, V, R1>(a, lda, b + j, ldb, depth, c + j, ldc);
            if (R2.Count > 0) RowTile<L, V, R2>(a4, lda, b + j, ldb, depth, c4 + j, ldc);
        }
        for (; j + L.Count <= cols; j += L.Count)
        {
            RowVector<L, V, R1>(a, lda, b + j, ldb, depth, c + j, ldc);
            if (R2.Count > 0) RowVector<L, V, R2>(a4, lda, b + j, ldb, depth, c4 + j, ldc);
        }
        if (j < cols) AddRowsScalar(a, lda, R1.Count + R2.Count, b, ldb, depth, c, ldc, j, cols);
    }

    /// <summary>Four vectors of C's columns for <typeparamref name="R"/> rows, held in registers over the pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowTile<L, V, R>(float* a, nint lda, float* b, nint ldb, int depth, float* c, nint ldc)
        where L : struct, ILanes<V> where V : unmanaged where R : struct, IRows
    {
        int n1 = L.Count, n2 = 2 * L.Count, n3 = 3 * L.Count;
        float* c1 = c + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        V c00 = L.Load(c), c01 = L.Load(c + n1), c02 = L.Load(c + n2), c03 = L.Load(c + n3);
        V c10 = default, c11 = default, c12 = default, c13 = default;
        V c20 = default, c21 = default, c22 = default, c23 = default;
        V c30 = default, c31 = default, c32 = default, c33 = default;
        if (R.Count > 1) { c10 = L.Load(c1); c11 = L.Load(c1 + n1); c12 = L.Load(c1 + n2); c13 = L.Load(c1 + n3); }
        if (R.Count > 2) { c20 = L.Load(c2); c21 = L.Load(c2 + n1); c22 = L.Load(c2 + n2); c23 = L.Load(c2 + n3); }
        if (R.Count > 3) { c30 = L.Load(c3); c31 = L.Load(c3 + n1); c32 = L.Load(c3 + n2); c33 = L.Load(c3 + n3); }
        for (int i = 0; i < depth; i++)
        {
            float* bi = b + i * ldb;
            var w0 = L.Load(bi);
            var w1 = L.Load(bi + n1);
            var w2 = L.Load(bi + n2);
            var w3 = L.Load(bi + n3);
            var x = L.Splat(a[i]);
            c00 = L.Fma(x, w0, c00);
            c01 = L.Fma(x, w1, c01);
            c02 = L.Fma(x, w2, c02);
            c03 = L.Fma(x, w3, c03);
            if (R.Count > 1)
            {
                x = L.Splat(a[lda + i]);
                c10 = L.Fma(x, w0, c10);
                c11 = L.Fma(x, w1, c11);
                c12 = L.Fma(x, w2, c12);
                c13 = L.Fma(x, w3, c13);
            }
            if (R.Count > 2)
            {
                x = L.Splat(a[2 * lda + i]);
                c20 = L.Fma(x, w0, c20);
                c21 = L.Fma(x, w1, c21);
                c22 = L.Fma(x, w2, c22);
                c23 = L.Fma(x, w3, c23);
            }
            if (R.Count > 3)
            {
                x = L.Splat(a[3 * lda + i]);
                c30 = L.Fma(x, w0, c30);
                c31 = L.Fma(x, w1, c31);
                c32 = L.Fma(x, w2, c32);
                c33 = L.Fma(x, w3, c33);
            }
        }
        L.Store(c00, c); L.Store(c01, c + n1); L.Store(c02, c + n2); L.Store(c03, c + n3);
        if (R.Count > 1) { L.Store(c10, c1); L.Store(c11, c1 + n1); L.Store(c12, c1 + n2); L.Store(c13, c1 + n3); }
        if (R.Count > 2) { L.Store(c20, c2); L.Store(c21, c2 + n1); L.Store(c22, c2 + n2); L.Store(c23, c2 + n3); }
        if (R.Count > 3) { L.Store(c30, c3); L.Store(c31, c3 + n1); L.Store(c32, c3 + n2); L.Store(c33, c3 + n3); }
    }

    /// <summary>One vector of C's columns for <typeparamref name="R"/> rows (the chunk's last few vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowVector<L, V, R>(float* a, nint lda, float* b, nint ldb, int depth, float* c, nint ldc)
        where L : struct, ILanes<V> where V : unmanaged where R : struct, IRows
    {
        for (int r = 0; r < R.Count; r++)
        {
            float* cr = c + r * ldc;
            var acc = L.Load(cr);
            for (int i = 0; i < depth; i++) acc = L.Fma(L.Splat(a[r * lda + i]), L.Load(b + i * ldb), acc);
            L.Store(acc, cr);
        }
    }
}
