using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

/// <summary>
/// GEMM for a few rows of A (decoding: 1 … <see cref="MaxRows"/> tokens), where the time is reading B once from memory.
/// B is streamed in place, never packed. Row-major B [K, N]: C's rows are the accumulators, a chunk of columns that
/// fits in L2, and each pass adds <see cref="Depth"/> rows of B to it (so C is loaded and stored once per Depth rows
/// of B, and B is read as Depth sequential streams). Transposed B [N, K] (a tied LM head reading the embedding
/// table): each output is a dot product of a row of A with a row of B, four rows of B at a time. A thread team
/// splits the columns of C.
/// </summary>
internal static unsafe class SkinnyGemm
{
    /// <summary>Rows of A up to which this path runs (more rows reuse B enough for the packed kernel to win).</summary>
    public const int MaxRows = 8;

    /// <summary>Rows of B added per pass over a chunk of C.</summary>
    private const int Depth = 4;

    /// <summary>
    /// Floats of C per chunk: 256 KiB, inside L2. Measured on Zen 4 against 32 KiB chunks that stay in L1: wider chunks
    /// read B in longer runs (whole rows of a [2048, 32000] head), which the prefetchers stream better than the L1 hits save.
    /// </summary>
    private const int ChunkFloats = 65536;

    /// <summary>Floats ahead (1 KiB) that the row streams of B are prefetched; a hint, so reading past a row is harmless.</summary>
    private const int Ahead = 256;

    /// <summary>Below this many multiply-adds a team's fork/join costs more than it saves.</summary>
    private const long TeamWork = 1L << 17;

    public static bool Applies(in GemmArgs g) => Vector512.IsHardwareAccelerated && !g.TransA && g.M <= MaxRows && g.M > 0 && g.K > 0;

    /// <summary>Runs the GEMM, its columns split over <paramref name="team"/> when there is one and the work is large enough.</summary>
    public static void Run(in GemmArgs g, KernelThreadTeam? team)
    {
        int threads = team?.Threads ?? 1;
        if (threads == 1 || (long)g.M * g.N * g.K < TeamWork || g.N < 16 * threads)
        {
            Run(g);
            return;
        }
        var job = team!.SkinnyGemm;
        job.Set(g, threads);
        team.Run(job);
    }

    /// <summary>One part of C's columns per team member (whole vectors, so only the last part has a ragged edge).</summary>
    internal sealed class TeamJob : ITeamJob
    {
        private GemmArgs _g;
        private int _parts;

        public void Set(in GemmArgs g, int parts)
        {
            _g = g;
            _parts = parts;
        }

        public void Run(int member)
        {
            int vectors = (_g.N + 15) / 16;
            int start = Math.Min(_g.N, Planning.EvenRanges.Start(vectors, _parts, member) * 16);
            int end = Math.Min(_g.N, start + Planning.EvenRanges.Length(vectors, _parts, member) * 16);
            if (end > start) SkinnyGemm.Run(_g.ColumnSlice(start, end - start));
        }
    }

    /// <summary>Runs the GEMM on the calling thread.</summary>
    public static void Run(in GemmArgs g)
    {
        if (g.TransB) Dots(g);
        else Rows(g);
        if (!g.HasEpilogue) return;
        for (int r = 0; r < g.M; r++) Activations.ApplyRow(g.C + (nint)r * g.Ldc, g.Bias, g.N, g.Activation);
    }

    // ------------------------------------------------------------------ B [K, N]: C += A·B, rows of B streamed

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(in GemmArgs g)
    {
        int m = g.M, n = g.N, k = g.K;
        int chunk = Math.Max(64, ChunkFloats / m / 16 * 16);
        for (int j0 = 0; j0 < n; j0 += chunk)
        {
            int cols = Math.Min(chunk, n - j0);
            float* c = g.C + j0;
            if (!g.Accumulate)
                for (int r = 0; r < m; r++) new Span<float>(c + (nint)r * g.Ldc, cols).Clear();
            float* b = g.B + j0;
            int p = 0;
            for (; p + Depth <= k; p += Depth) AddRows(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, Depth, c, g.Ldc, cols);
            if (p < k) AddRows(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, k - p, c, g.Ldc, cols);
        }
    }

    /// <summary>c[r, :cols] += Σ_{i &lt; depth} a[r, i]·b[i, :cols] for the m rows; depth ≤ <see cref="Depth"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRows(float* a, nint lda, int m, float* b, nint ldb, int depth, float* c, nint ldc, int cols)
    {
        int j = 0;
        if (depth == Depth && m == 1)
        {
            // Decoding's common case: the four multipliers stay in registers.
            var x0 = Vector512.Create(a[0]);
            var x1 = Vector512.Create(a[1]);
            var x2 = Vector512.Create(a[2]);
            var x3 = Vector512.Create(a[3]);
            float* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
            for (; j + 16 <= cols; j += 16)
            {
                if (Sse.IsSupported)
                {
                    // Four streams at once are more than the hardware prefetchers run ahead of on their own.
                    Sse.Prefetch0(b + j + Ahead);
                    Sse.Prefetch0(b1 + j + Ahead);
                    Sse.Prefetch0(b2 + j + Ahead);
                    Sse.Prefetch0(b3 + j + Ahead);
                }
                var acc = Vector512.Load(c + j);
                acc = Vector512.FusedMultiplyAdd(x0, Vector512.Load(b + j), acc);
                acc = Vector512.FusedMultiplyAdd(x1, Vector512.Load(b1 + j), acc);
                acc = Vector512.FusedMultiplyAdd(x2, Vector512.Load(b2 + j), acc);
                acc = Vector512.FusedMultiplyAdd(x3, Vector512.Load(b3 + j), acc);
                Vector512.Store(acc, c + j);
            }
        }
        else if (depth == Depth)
        {
            var x = stackalloc Vector512<float>[MaxRows * Depth];
            for (int r = 0; r < m; r++)
            for (int i = 0; i < Depth; i++)
                x[r * Depth + i] = Vector512.Create(a[r * lda + i]);
            float* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
            for (; j + 16 <= cols; j += 16)
            {
                if (Sse.IsSupported)
                {
                    Sse.Prefetch0(b + j + Ahead);
                    Sse.Prefetch0(b1 + j + Ahead);
                    Sse.Prefetch0(b2 + j + Ahead);
                    Sse.Prefetch0(b3 + j + Ahead);
                }
                var w0 = Vector512.Load(b + j);
                var w1 = Vector512.Load(b1 + j);
                var w2 = Vector512.Load(b2 + j);
                var w3 = Vector512.Load(b3 + j);
                for (int r = 0; r < m; r++)
                {
                    float* cr = c + r * ldc + j;
                    var xr = x + r * Depth;
                    var acc = Vector512.Load(cr);
                    acc = Vector512.FusedMultiplyAdd(xr[0], w0, acc);
                    acc = Vector512.FusedMultiplyAdd(xr[1], w1, acc);
                    acc = Vector512.FusedMultiplyAdd(xr[2], w2, acc);
                    acc = Vector512.FusedMultiplyAdd(xr[3], w3, acc);
                    Vector512.Store(acc, cr);
                }
            }
        }
        else
        {
            // The last few rows of B: one row at a time.
            for (; j + 16 <= cols; j += 16)
            {
                for (int r = 0; r < m; r++)
                {
                    float* cr = c + r * ldc + j;
                    var acc = Vector512.Load(cr);
                    for (int i = 0; i < depth; i++) acc = Vector512.FusedMultiplyAdd(Vector512.Create(a[r * lda + i]), Vector512.Load(b + i * ldb + j), acc);
                    Vector512.Store(acc, cr);
                }
            }
        }
        if (j < cols) AddRowsScalar(a, lda, m, b, ldb, depth, c, ldc, j, cols);
    }

    /// <summary>The ragged right edge (fewer than 16 columns), in the same order of additions.</summary>
    private static void AddRowsScalar(float* a, nint lda, int m, float* b, nint ldb, int depth, float* c, nint ldc, int from, int cols)
    {
        for (int r = 0; r < m; r++)
        for (int j = from; j < cols; j++)
        {
            float acc = c[r * ldc + j];
            for (int i = 0; i < depth; i++) acc = MathF.FusedMultiplyAdd(a[r * lda + i], b[i * ldb + j], acc);
            c[r * ldc + j] = acc;
        }
    }

    // ------------------------------------------------------------------ B [N, K] (Bᵀ): C[r, j] = A[r, :]·B[j, :]

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots(in GemmArgs g)
    {
        int m = g.M, n = g.N, k = g.K;
        int j = 0;
        for (; j + 4 <= n; j += 4)
        {
            float* b0 = g.B + (nint)j * g.Ldb, b1 = b0 + g.Ldb, b2 = b1 + g.Ldb, b3 = b2 + g.Ldb;
            for (int r = 0; r < m; r++)
            {
                float* a = g.A + (nint)r * g.Lda;
                var s0 = Vector512<float>.Zero;
                var s1 = Vector512<float>.Zero;
                var s2 = Vector512<float>.Zero;
                var s3 = Vector512<float>.Zero;
                int p = 0;
                for (; p + 16 <= k; p += 16)
                {
                    var x = Vector512.Load(a + p);
                    s0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b0 + p), s0);
                    s1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b1 + p), s1);
                    s2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b2 + p), s2);
                    s3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b3 + p), s3);
                }
                float d0 = Vector512.Sum(s0), d1 = Vector512.Sum(s1), d2 = Vector512.Sum(s2), d3 = Vector512.Sum(s3);
                for (; p < k; p++)
                {
                    float x = a[p];
                    d0 = MathF.FusedMultiplyAdd(x, b0[p], d0);
                    d1 = MathF.FusedMultiplyAdd(x, b1[p], d1);
                    d2 = MathF.FusedMultiplyAdd(x, b2[p], d2);
                    d3 = MathF.FusedMultiplyAdd(x, b3[p], d3);
                }
                float* c = g.C + (nint)r * g.Ldc + j;
                if (g.Accumulate)
                {
                    c[0] += d0;
                    c[1] += d1;
                    c[2] += d2;
                    c[3] += d3;
                }
                else
                {
                    c[0] = d0;
                    c[1] = d1;
                    c[2] = d2;
                    c[3] = d3;
                }
            }
        }
        for (; j < n; j++)
        {
            float* bj = g.B + (nint)j * g.Ldb;
            for (int r = 0; r < m; r++)
            {
                float* a = g.A + (nint)r * g.Lda;
                var s = Vector512<float>.Zero;
                int p = 0;
                for (; p + 16 <= k; p += 16) s = Vector512.FusedMultiplyAdd(Vector512.Load(a + p), Vector512.Load(bj + p), s);
                float d = Vector512.Sum(s);
                for (; p < k; p++) d = MathF.FusedMultiplyAdd(a[p], bj[p], d);
                float* c = g.C + (nint)r * g.Ldc + j;
                *c = g.Accumulate ? *c + d : d;
            }
        }
    }
}
