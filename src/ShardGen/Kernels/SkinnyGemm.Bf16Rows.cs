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
            for (; p + Depth <= k; p += Depth) AddRows16<L, V>(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, Depth, c, g.Ldc, cols);
            if (p < k) AddRows16<L, V>(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, k - p, c, g.Ldc, cols);
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
            // Decoding: the four multipliers in registers, two vectors of C per step (two independent chains of FMAs).
            var x0 = L.Splat(a[0]);
            var x1 = L.Splat(a[1]);
            var x2 = L.Splat(a[2]);
            var x3 = L.Splat(a[3]);
            int n1 = L.Count;
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
                L.Store(c0, cj);
                L.Store(c1, cj + n1);
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
            for (int i = 0; i < depth; i++) acc = MathF.FusedMultiplyAdd(a[r * lda + i], Widen(b[i * ldb + jj]), acc);
            c[r * ldc + jj] = acc;
        }
    }
}
