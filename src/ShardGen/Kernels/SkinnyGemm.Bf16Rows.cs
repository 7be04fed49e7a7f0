using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

/// <summary>
/// Row-major bfloat16 B [K, N] (GPT-2's Conv1D weights, [in, out]): <see cref="Rows{L, V}"/> with each vector of a row
/// of B widened in order as it is loaded (<see cref="ILanes{V}.LoadWidened"/>); same chunks of C, same order of additions.
/// </summary>
internal static unsafe partial class SkinnyGemm
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows16<L, V>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged
    {
        int m = g.M, n = g.N, k = g.K;
        int chunk = Math.Max(64, ChunkFloats / m / 16 * 16);
        for (int j0 = 0; j0 < n; j0 += chunk)
        {
            int cols = Math.Min(chunk, n - j0);
            float* c = g.C + j0;
            if (!g.Accumulate)
                for (int r = 0; r < m; r++) new Span<float>(c + (nint)r * g.Ldc, cols).Clear();
            ushort* b = g.B16 + j0;
            int p = 0;
            if (m == 1)
                for (; p + 2 * Depth <= k; p += 2 * Depth) AddEightRows16<L, V>(g.A + p, b + (nint)p * g.Ldb, g.Ldb, c, cols);
            for (; p + Depth <= k; p += Depth) AddRows16<L, V>(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, Depth, c, g.Ldc, cols);
            if (p < k) AddRows16<L, V>(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, k - p, c, g.Ldc, cols);
        }
    }

    /// <summary>
    /// One row of A: c[:cols] += Σ_{i &lt; 8} a[i]·b[i, :cols], two vectors of C per step. Eight rows of B per pass rather
    /// than four: a bfloat16 row is half the bytes, so four would move as many bytes of C (load and store, L2) as of B.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddEightRows16<L, V>(float* a, ushort* b, nint ldb, float* c, int cols) where L : struct, ILanes<V> where V : unmanaged
    {
        var x0 = L.Splat(a[0]);
        var x1 = L.Splat(a[1]);
        var x2 = L.Splat(a[2]);
        var x3 = L.Splat(a[3]);
        var x4 = L.Splat(a[4]);
        var x5 = L.Splat(a[5]);
        var x6 = L.Splat(a[6]);
        var x7 = L.Splat(a[7]);
        ushort* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb, b4 = b3 + ldb, b5 = b4 + ldb, b6 = b5 + ldb, b7 = b6 + ldb;
        int n1 = L.Count;
        int j = 0;
        for (; j + 2 * L.Count <= cols; j += 2 * L.Count)
        {
            float* cj = c + j;
            var c0 = L.Load(cj);
            var c1 = L.Load(cj + n1);
            c0 = L.Fma(x0, L.LoadWidened(b + j), c0);
            c1 = L.Fma(x0, L.LoadWidened(b + j + n1), c1);
            c0 = L.Fma(x1, L.LoadWidened(b1 + j), c0);
            c1 = L.Fma(x1, L.LoadWidened(b1 + j + n1), c1);
            c0 = L.Fma(x2, L.LoadWidened(b2 + j), c0);
            c1 = L.Fma(x2, L.LoadWidened(b2 + j + n1), c1);
            c0 = L.Fma(x3, L.LoadWidened(b3 + j), c0);
            c1 = L.Fma(x3, L.LoadWidened(b3 + j + n1), c1);
            c0 = L.Fma(x4, L.LoadWidened(b4 + j), c0);
            c1 = L.Fma(x4, L.LoadWidened(b4 + j + n1), c1);
            c0 = L.Fma(x5, L.LoadWidened(b5 + j), c0);
            c1 = L.Fma(x5, L.LoadWidened(b5 + j + n1), c1);
            c0 = L.Fma(x6, L.LoadWidened(b6 + j), c0);
            c1 = L.Fma(x6, L.LoadWidened(b6 + j + n1), c1);
            c0 = L.Fma(x7, L.LoadWidened(b7 + j), c0);
            c1 = L.Fma(x7, L.LoadWidened(b7 + j + n1), c1);
            L.Store(c0, cj);
            L.Store(c1, cj + n1);
        }
        for (; j < cols; j++)
        {
            float acc = c[j];
            for (int i = 0; i < 8; i++) acc = MathF.FusedMultiplyAdd(a[i], BFloat16.Widen(b[i * ldb + j]), acc);
            c[j] = acc;
        }
    }

    /// <summary>c[r, :cols] += Σ_{i &lt; depth} a[r, i]·b[i, :cols] for the m rows; depth ≤ <see cref="Depth"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRows16<L, V>(float* a, nint lda, int m, ushort* b, nint ldb, int depth, float* c, nint ldc, int cols) where L : struct, ILanes<V> where V : unmanaged
    {
        int j = 0;
        ushort* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        if (depth == Depth && m == 1)
        {
            // Decoding: the four multipliers in registers, four vectors of C per step (four independent chains of FMAs),
            // as AddRows.
            var x0 = L.Splat(a[0]);
            var x1 = L.Splat(a[1]);
            var x2 = L.Splat(a[2]);
            var x3 = L.Splat(a[3]);
            int n1 = L.Count, n2 = 2 * L.Count, n3 = 3 * L.Count;
            for (; j + 4 * L.Count <= cols; j += 4 * L.Count)
            {
                float* cj = c + j;
                var c0 = L.Load(cj);
                var c1 = L.Load(cj + n1);
                var c2 = L.Load(cj + n2);
                var c3 = L.Load(cj + n3);
                c0 = L.Fma(x0, L.LoadWidened(b + j), c0);
                c1 = L.Fma(x0, L.LoadWidened(b + j + n1), c1);
                c2 = L.Fma(x0, L.LoadWidened(b + j + n2), c2);
                c3 = L.Fma(x0, L.LoadWidened(b + j + n3), c3);
                c0 = L.Fma(x1, L.LoadWidened(b1 + j), c0);
                c1 = L.Fma(x1, L.LoadWidened(b1 + j + n1), c1);
                c2 = L.Fma(x1, L.LoadWidened(b1 + j + n2), c2);
                c3 = L.Fma(x1, L.LoadWidened(b1 + j + n3), c3);
                c0 = L.Fma(x2, L.LoadWidened(b2 + j), c0);
                c1 = L.Fma(x2, L.LoadWidened(b2 + j + n1), c1);
                c2 = L.Fma(x2, L.LoadWidened(b2 + j + n2), c2);
                c3 = L.Fma(x2, L.LoadWidened(b2 + j + n3), c3);
                c0 = L.Fma(x3, L.LoadWidened(b3 + j), c0);
                c1 = L.Fma(x3, L.LoadWidened(b3 + j + n1), c1);
                c2 = L.Fma(x3, L.LoadWidened(b3 + j + n2), c2);
                c3 = L.Fma(x3, L.LoadWidened(b3 + j + n3), c3);
                L.Store(c0, cj);
                L.Store(c1, cj + n1);
                L.Store(c2, cj + n2);
                L.Store(c3, cj + n3);
            }
            for (; j + L.Count <= cols; j += L.Count)
            {
                var acc = L.Load(c + j);
                acc = L.Fma(x0, L.LoadWidened(b + j), acc);
                acc = L.Fma(x1, L.LoadWidened(b1 + j), acc);
                acc = L.Fma(x2, L.LoadWidened(b2 + j), acc);
                acc = L.Fma(x3, L.LoadWidened(b3 + j), acc);
                L.Store(acc, c + j);
            }
        }
        else if (depth == Depth)
        {
            // The multipliers splatted once, on a 64-byte boundary (as AddRows, for the same reason).
            byte* raw = stackalloc byte[MaxRows * Depth * sizeof(V) + 64];
            var x = (V*)(((nint)raw + 63) & ~(nint)63);
            for (int r = 0; r < m; r++)
            for (int i = 0; i < Depth; i++)
                x[r * Depth + i] = L.Splat(a[r * lda + i]);
            for (; j + L.Count <= cols; j += L.Count)
            {
                if (Sse.IsSupported)
                {
                    // Ahead floats' bytes ahead in each row stream, as AddRows.
                    Sse.Prefetch0(b + j + 2 * Ahead);
                    Sse.Prefetch0(b1 + j + 2 * Ahead);
                    Sse.Prefetch0(b2 + j + 2 * Ahead);
                    Sse.Prefetch0(b3 + j + 2 * Ahead);
                }
                var w0 = L.LoadWidened(b + j);
                var w1 = L.LoadWidened(b1 + j);
                var w2 = L.LoadWidened(b2 + j);
                var w3 = L.LoadWidened(b3 + j);
                for (int r = 0; r < m; r++)
                {
                    float* cr = c + r * ldc + j;
                    var xr = x + r * Depth;
                    var acc = L.Load(cr);
                    acc = L.Fma(xr[0], w0, acc);
                    acc = L.Fma(xr[1], w1, acc);
                    acc = L.Fma(xr[2], w2, acc);
                    acc = L.Fma(xr[3], w3, acc);
                    L.Store(acc, cr);
                }
            }
        }
        else
        {
            // The last few rows of B: one row at a time.
            for (; j + L.Count <= cols; j += L.Count)
            {
                for (int r = 0; r < m; r++)
                {
                    float* cr = c + r * ldc + j;
                    var acc = L.Load(cr);
                    for (int i = 0; i < depth; i++) acc = L.Fma(L.Splat(a[r * lda + i]), L.LoadWidened(b + i * ldb + j), acc);
                    L.Store(acc, cr);
                }
            }
        }
        // The ragged right edge (fewer than one vector of columns), in the same order of additions.
        for (int r = 0; r < m; r++)
        for (int jj = j; jj < cols; jj++)
        {
            float acc = c[r * ldc + jj];
            for (int i = 0; i < depth; i++) acc = MathF.FusedMultiplyAdd(a[r * lda + i], BFloat16.Widen(b[i * ldb + jj]), acc);
            c[r * ldc + jj] = acc;
        }
    }
}
