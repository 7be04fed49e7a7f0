using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

/// <summary>
/// GEMM for a few rows of A (decoding: 1 … <see cref="MaxRows"/> tokens), where the time is reading B once from memory.
/// B is streamed in place, never packed. Row-major B [K, N]: C's rows are the accumulators, a chunk of columns that
/// fits in L2, and each pass adds <see cref="Depth"/> rows of B to it (so C is loaded and stored once per Depth rows
/// of B, and B is read as Depth sequential streams). Transposed B [N, K] (weights kept in their [out, in] orientation,
/// the tied LM head): four long streams of rows of B, each weight loaded dotted with up to four rows of A in registers
/// (SkinnyGemm.Dots.cs). A thread team splits the columns of C. AVX-512 where the CPU has it, else AVX2 (<see cref="ForceVector256"/>
/// picks AVX2 on an AVX-512 machine, for tests and comparisons): one generic body over <see cref="ILanes{V}"/>.
/// </summary>
internal static unsafe partial class SkinnyGemm
{
    /// <summary>
    /// Runs the 256-bit body even where 512-bit vectors are accelerated (tests; benchmarks compare the two). Set from
    /// the environment variable SHARDGEN_SKINNY_VECTOR256=1 at start.
    /// </summary>
    internal static volatile bool ForceVector256 = Environment.GetEnvironmentVariable("SHARDGEN_SKINNY_VECTOR256") == "1";

    private static bool Wide => Vector512.IsHardwareAccelerated && !ForceVector256;

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

    public static bool Applies(in GemmArgs g) => (Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated && Fma.IsSupported) && !g.TransA && g.M <= MaxRows && g.M > 0 && g.K > 0;

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
        if (g.B16 != null)
        {
            if (Wide) Bf16<Lanes512, Vector512<float>>(g);
            else Bf16<Lanes256, Vector256<float>>(g);
        }
        else if (Wide)
        {
            if (g.TransB) Dots<Lanes512, Vector512<float>>(g);
            else Rows<Lanes512, Vector512<float>>(g);
        }
        else
        {
            if (g.TransB) Dots<Lanes256, Vector256<float>>(g);
            else Rows<Lanes256, Vector256<float>>(g);
        }
        if (!g.HasEpilogue) return;
        for (int r = 0; r < g.M; r++) Activations.ApplyRow(g.C + (nint)r * g.Ldc, g.Bias, g.N, g.Activation);
    }

    // ------------------------------------------------------------------ B [K, N]: C += A·B, rows of B streamed

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<L, V>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged
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
            for (; p + Depth <= k; p += Depth) AddRows<L, V>(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, Depth, c, g.Ldc, cols);
            if (p < k) AddRows<L, V>(g.A + p, g.Lda, m, b + (nint)p * g.Ldb, g.Ldb, k - p, c, g.Ldc, cols);
        }
    }

    /// <summary>c[r, :cols] += Σ_{i &lt; depth} a[r, i]·b[i, :cols] for the m rows; depth ≤ <see cref="Depth"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRows<L, V>(float* a, nint lda, int m, float* b, nint ldb, int depth, float* c, nint ldc, int cols) where L : struct, ILanes<V> where V : unmanaged
    {
        int j = 0;
        if (depth == Depth && m == 1)
        {
            // Decoding's common case: the four multipliers stay in registers, four vectors of C per step (four
            // independent chains of FMAs). No software prefetch: the hardware prefetchers follow four row streams on
            // their own, and prefetch instructions on top only took load slots (Zen 5: 1.3× faster without them, with
            // the four chains).
            var x0 = L.Splat(a[0]);
            var x1 = L.Splat(a[1]);
            var x2 = L.Splat(a[2]);
            var x3 = L.Splat(a[3]);
            float* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
            int n1 = L.Count, n2 = 2 * L.Count, n3 = 3 * L.Count;
            for (; j + 4 * L.Count <= cols; j += 4 * L.Count)
            {
                float* cj = c + j;
                var c0 = L.Load(cj);
                var c1 = L.Load(cj + n1);
                var c2 = L.Load(cj + n2);
                var c3 = L.Load(cj + n3);
                c0 = L.Fma(x0, L.Load(b + j), c0);
                c1 = L.Fma(x0, L.Load(b + j + n1), c1);
                c2 = L.Fma(x0, L.Load(b + j + n2), c2);
                c3 = L.Fma(x0, L.Load(b + j + n3), c3);
                c0 = L.Fma(x1, L.Load(b1 + j), c0);
                c1 = L.Fma(x1, L.Load(b1 + j + n1), c1);
                c2 = L.Fma(x1, L.Load(b1 + j + n2), c2);
                c3 = L.Fma(x1, L.Load(b1 + j + n3), c3);
                c0 = L.Fma(x2, L.Load(b2 + j), c0);
                c1 = L.Fma(x2, L.Load(b2 + j + n1), c1);
                c2 = L.Fma(x2, L.Load(b2 + j + n2), c2);
                c3 = L.Fma(x2, L.Load(b2 + j + n3), c3);
                c0 = L.Fma(x3, L.Load(b3 + j), c0);
                c1 = L.Fma(x3, L.Load(b3 + j + n1), c1);
                c2 = L.Fma(x3, L.Load(b3 + j + n2), c2);
                c3 = L.Fma(x3, L.Load(b3 + j + n3), c3);
                L.Store(c0, cj);
                L.Store(c1, cj + n1);
                L.Store(c2, cj + n2);
                L.Store(c3, cj + n3);
            }
            for (; j + L.Count <= cols; j += L.Count)
            {
                var acc = L.Load(c + j);
                acc = L.Fma(x0, L.Load(b + j), acc);
                acc = L.Fma(x1, L.Load(b1 + j), acc);
                acc = L.Fma(x2, L.Load(b2 + j), acc);
                acc = L.Fma(x3, L.Load(b3 + j), acc);
                L.Store(acc, c + j);
            }
        }
        else if (depth == Depth)
        {
            // The multipliers splatted once, on a 64-byte boundary: a stack slot's own alignment is 16 bytes, and a
            // Vector512 load split over two cache lines costs twice (identical bodies measured 0.28–0.38 of a read at
            // 8 rows depending on where the frame fell).
            byte* raw = stackalloc byte[MaxRows * Depth * sizeof(V) + 64];
            var x = (V*)(((nint)raw + 63) & ~(nint)63);
            for (int r = 0; r < m; r++)
            for (int i = 0; i < Depth; i++)
                x[r * Depth + i] = L.Splat(a[r * lda + i]);
            float* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
            for (; j + L.Count <= cols; j += L.Count)
            {
                if (Sse.IsSupported)
                {
                    Sse.Prefetch0(b + j + Ahead);
                    Sse.Prefetch0(b1 + j + Ahead);
                    Sse.Prefetch0(b2 + j + Ahead);
                    Sse.Prefetch0(b3 + j + Ahead);
                }
                var w0 = L.Load(b + j);
                var w1 = L.Load(b1 + j);
                var w2 = L.Load(b2 + j);
                var w3 = L.Load(b3 + j);
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
                    for (int i = 0; i < depth; i++) acc = L.Fma(L.Splat(a[r * lda + i]), L.Load(b + i * ldb + j), acc);
                    L.Store(acc, cr);
                }
            }
        }
        if (j < cols) AddRowsScalar(a, lda, m, b, ldb, depth, c, ldc, j, cols);
    }

    /// <summary>The ragged right edge (fewer than one vector of columns), in the same order of additions.</summary>
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
}
