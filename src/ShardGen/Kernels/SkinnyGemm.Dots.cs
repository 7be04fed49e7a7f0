using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// Transposed B [N, K]: C[r, j] = A[r, :]·B[j, :]. Register tiles of up to four rows of A against four rows of B, so
/// each weight loaded from memory feeds every row of A from registers; five to eight rows of A run as two tiles over
/// the same piece of B, the second reading it from L1. The row counts are type arguments (<see cref="IRows"/>), so the
/// JIT compiles one body per count with the unused rows removed.
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

    /// <summary>The body for g.M rows: rows 0–3 of A as one tile, rows 4–7 as a second.</summary>
    private static void Dots<L, V>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged
    {
        switch (g.M)
        {
            case 1: Dots<L, V, One, None>(g); break;
            case 2: Dots<L, V, Two, None>(g); break;
            case 3: Dots<L, V, Three, None>(g); break;
            case 4: Dots<L, V, Four, None>(g); break;
            case 5: Dots<L, V, Four, One>(g); break;
            case 6: Dots<L, V, Four, Two>(g); break;
            case 7: Dots<L, V, Four, Three>(g); break;
            default: Dots<L, V, Four, Four>(g); break;
        }
    }

    /// <summary>
    /// Four rows of B at a time (four long sequential streams), each dotted with every row of A; the sums of a tile are
    /// reduced together (<see cref="ILanes{V}.Sum4"/>). Order of additions per output: lane-wise FMAs over the whole
    /// vectors of K in ascending order, the lanes summed by Sum4's tree, then the ragged tail of K by scalar FMAs.
    /// With more than one row of A, K is cut into pieces of <see cref="DotDepth"/> floats so the rows of A in use stay
    /// in L1 while B streams past (the second tile's accumulators wait in a small buffer between pieces); the order of
    /// additions is the same either way.
    /// </summary>
    private static void Dots<L, V, R1, R2>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged where R1 : struct, IRows where R2 : struct, IRows
    {
        int n = g.N, k = g.K;
        nint lda = g.Lda, ldb = g.Ldb, ldc = g.Ldc;
        float* a4 = g.A + 4 * lda, c4 = g.C + 4 * ldc;
        int whole = k / L.Count * L.Count;
        int piece = R1.Count == 1 ? Math.Max(whole, L.Count) : DotDepth;
        var saved = stackalloc V[32];
        // Contiguous B (ld = K): the four rows of a tile are a quarter of N apart (rows t, q + t, 2q + t, 3q + t), so
        // each of the four streams of B runs on through whole rows, one long sequential read, where four adjacent rows
        // would end three streams and start three new ones every tile, each a wait until the prefetchers catch up.
        // A column slice (ld > K) has a gap after every row anyway: adjacent rows there, and for one row of A the
        // previous body (measured faster on the 2-device slices: 0.87 against 0.72 of a streaming read).
        int q = n / 4;
        bool quarters = ldb == k;
        // Rows of B off their vector boundary (a safetensors file mapped in place: data offsets are only 8-byte
        // aligned): every load would split two cache lines (0.86–0.96 of the aligned speed at M = 1, gemv-align
        // suite). Read from the boundary before each row instead, the lanes outside it masked to zero (Edges).
        int shift = quarters && q > 0 ? Shift<L, V>(g.B, k) : 0;
        var edges = new Edges<V>();
        if (shift > 0)
        {
            int span = (shift + k + L.Count - 1) / L.Count * L.Count;
            edges = new Edges<V>(L.Load(EdgeMasks + MaskLanes - shift), L.Load(EdgeMasks + 3 * MaskLanes - (shift + k - (span - L.Count))), span - L.Count);
            whole = span;
            k = span;
            if (R1.Count == 1) piece = whole;
        }
        if (!quarters && R1.Count == 1 && R2.Count == 0)
        {
            AdjacentDots<L, V>(g);
            return;
        }
        nint tileStep = quarters ? ldb : 4 * ldb, rowStep = quarters ? q * ldb : ldb;
        int cTile = quarters ? 1 : 4, cs = quarters ? q : 1;
        float* ap = g.A;
        nint aStep = L.Count;
        if (g.M > 1 || shift > 0)
        {
            ap = PackA<L, V>(g, whole, shift);
            aStep = g.M * L.Count;
        }
        for (int t = 0; t < q; t++)
        {
            float* b = g.B - shift + t * tileStep;
            int p0 = 0;
            do
            {
                int p1 = Math.Min(whole, p0 + piece);
                DotTile<L, V, R1>(ap, aStep, g.A, lda, b, rowStep, p0, p1, k, edges, saved, g.C + t * cTile, ldc, cs, g.Accumulate);
                if (R2.Count > 0) DotTile<L, V, R2>(ap + 4 * L.Count, aStep, a4, lda, b, rowStep, p0, p1, k, edges, saved + 16, c4 + t * cTile, ldc, cs, g.Accumulate);
                p0 = p1;
            } while (p0 < whole);
        }
        int j = 4 * q;
        k = g.K;
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

    /// <summary>
    /// One row of A against a column slice of B (ld > K): four adjacent rows of B per step, each dot summed alone, as
    /// before the tiles (bit-identical to it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AdjacentDots<L, V>(in GemmArgs g) where L : struct, ILanes<V> where V : unmanaged
    {
        int n = g.N, k = g.K;
        float* a = g.A, c = g.C;
        int j = 0;
        for (; j + 4 <= n; j += 4)
        {
            float* b0 = g.B + j * (nint)g.Ldb, b1 = b0 + g.Ldb, b2 = b1 + g.Ldb, b3 = b2 + g.Ldb;
            var s0 = L.Zero;
            var s1 = L.Zero;
            var s2 = L.Zero;
            var s3 = L.Zero;
            int p = 0;
            for (; p + L.Count <= k; p += L.Count)
            {
                var x = L.Load(a + p);
                s0 = L.Fma(x, L.Load(b0 + p), s0);
                s1 = L.Fma(x, L.Load(b1 + p), s1);
                s2 = L.Fma(x, L.Load(b2 + p), s2);
                s3 = L.Fma(x, L.Load(b3 + p), s3);
            }
            float d0 = L.Sum(s0), d1 = L.Sum(s1), d2 = L.Sum(s2), d3 = L.Sum(s3);
            for (; p < k; p++)
            {
                float x = a[p];
                d0 = MathF.FusedMultiplyAdd(x, b0[p], d0);
                d1 = MathF.FusedMultiplyAdd(x, b1[p], d1);
                d2 = MathF.FusedMultiplyAdd(x, b2[p], d2);
                d3 = MathF.FusedMultiplyAdd(x, b3[p], d3);
            }
            if (g.Accumulate)
            {
                d0 += c[j];
                d1 += c[j + 1];
                d2 += c[j + 2];
                d3 += c[j + 3];
            }
            c[j] = d0;
            c[j + 1] = d1;
            c[j + 2] = d2;
            c[j + 3] = d3;
        }
        for (; j < n; j++)
        {
            float* bj = g.B + j * (nint)g.Ldb;
            var s = L.Zero;
            int p = 0;
            for (; p + L.Count <= k; p += L.Count) s = L.Fma(L.Load(a + p), L.Load(bj + p), s);
            float d = L.Sum(s);
            for (; p < k; p++) d = MathF.FusedMultiplyAdd(a[p], bj[p], d);
            c[j] = g.Accumulate ? c[j] + d : d;
        }
    }

    [ThreadStatic] private static float[]? _packed;

    /// <summary>
    /// A's whole vectors of K interleaved by rows ([K / Count][M][Count], 64-byte aligned, one buffer per thread), so a
    /// step's vectors of A lie in adjacent cache lines. In place, rows of A 8 KiB apart (K = 2048) fall in the same L1
    /// set as each other and as the four rows of B, and eight of them plus B's lines overflow its ways.
    /// </summary>
    private static float* PackA<L, V>(in GemmArgs g, int whole, int shift) where L : struct, ILanes<V> where V : unmanaged
    {
        int m = g.M;
        float* packed = Scratch(m * whole);
        float* to = packed;
        if (shift == 0)
        {
            for (int p = 0; p < whole; p += L.Count)
                for (int r = 0; r < m; r++, to += L.Count)
                    L.Store(L.Load(g.A + r * g.Lda + p), to);
            return packed;
        }
        // Shifted with B: A[r, p] at lane p + shift, zeros before and after (whole covers shift + K).
        for (int p = 0; p < whole; p += L.Count)
            for (int r = 0; r < m; r++)
                for (int i = 0; i < L.Count; i++, to++)
                {
                    int col = p + i - shift;
                    *to = col >= 0 && col < g.K ? g.A[r * g.Lda + col] : 0f;
                }
        return packed;
    }

    /// <summary>
    /// Floats from the vector boundary before B to B (every row shares it: ld = K here) when B is off its boundary by
    /// whole floats and K spans at least two vectors; else 0.
    /// </summary>
    private static int Shift<L, V>(float* b, int k) where L : struct, ILanes<V> where V : unmanaged
    {
        nint off = (nint)b & (L.Count * sizeof(float) - 1);
        if (NoPeel || off == 0 || (off & 3) != 0 || (k * sizeof(float)) % (L.Count * sizeof(float)) != 0 || k < 2 * L.Count) return 0;
        return (int)off / sizeof(float);
    }

    /// <summary>Benchmarks' A/B switch: the rows of B read from wherever they start, as before the edges.</summary>
    internal static volatile bool NoPeel = Environment.GetEnvironmentVariable("SHARDGEN_SKINNY_NOPEEL") == "1";

    private const int MaskLanes = 16;

    /// <summary>16 lanes of zeros, 32 of ones, 16 of zeros: a vector loaded at 16 − s keeps lanes ≥ s, at 48 − e lanes &lt; e.</summary>
    private static readonly float* EdgeMasks = MakeMasks();

    private static float* MakeMasks()
    {
        var m = (uint*)NativeMemory.AlignedAlloc(4 * MaskLanes * sizeof(uint), 64);
        for (int i = 0; i < 4 * MaskLanes; i++) m[i] = i >= MaskLanes && i < 3 * MaskLanes ? uint.MaxValue : 0u;
        return (float*)m;
    }

    /// <summary>
    /// The masks of a shifted B's first vector (lanes ≥ shift: the row's start) and last (lanes below the row's end), and
    /// the offset of that last vector; First = Last = −1 when B is not shifted. Lanes outside are zeroed, not just
    /// multiplied by A's zero padding, because they hold the neighbouring floats of the file, which may be Inf or NaN.
    /// </summary>
    private readonly struct Edges<V>(V head, V tail, int last) where V : unmanaged
    {
        public readonly V Head = head, Tail = tail;
        public readonly int Last = last;
        public bool Shifted => Last > 0;
    }

    /// <summary>This thread's scratch buffer of at least <paramref name="floats"/> floats, 64-byte aligned, grown on demand (never freed).</summary>
    private static float* Scratch(long floats)
    {
        var buffer = _packed;
        if (buffer == null || buffer.Length < floats + 16) _packed = buffer = GC.AllocateUninitializedArray<float>((int)floats + 16, pinned: true);
        return (float*)(((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)) + 63) & ~(nint)63);
    }

    /// <summary>Floats of K per piece when several rows of A share the rows of B: 8 rows of A and 4 of B in 24 KiB of L1.</summary>
    private const int DotDepth = 512;

    /// <summary>
    /// The lanes of a[r, p0..p1)·b[i, p0..p1) for the <typeparamref name="R"/> rows of A and four rows of B (ldb apart),
    /// added to the sums saved by the previous piece (none when p0 = 0); the last piece (p1 = the whole vectors of K)
    /// adds the tail and writes c[r, i·cs] for i = 0..3, else the sums are saved for the next.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTile<L, V, R>(float* ap, nint aStep, float* a, nint lda, float* b, nint ldb, int p0, int p1, int k, in Edges<V> edges, V* saved, float* c, nint ldc, nint cs, bool accumulate)
        where L : struct, ILanes<V> where V : unmanaged where R : struct, IRows
    {
        float* xp = ap + p0 / L.Count * aStep;
        float* a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda;
        float* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
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
        int last = edges.Last;
        for (int p = p0; p < p1; p += L.Count, xp += aStep)
        {
            var w0 = L.Load(b + p);
            var w1 = L.Load(b1 + p);
            var w2 = L.Load(b2 + p);
            var w3 = L.Load(b3 + p);
            if (shifted && (p == 0 || p == last))
            {
                var mask = p == 0 ? edges.Head : edges.Tail;
                w0 = L.And(w0, mask);
                w1 = L.And(w1, mask);
                w2 = L.And(w2, mask);
                w3 = L.And(w3, mask);
            }
            var x = L.Load(xp);
            s00 = L.Fma(x, w0, s00);
            s01 = L.Fma(x, w1, s01);
            s02 = L.Fma(x, w2, s02);
            s03 = L.Fma(x, w3, s03);
            if (R.Count > 1)
            {
                x = L.Load(xp + L.Count);
                s10 = L.Fma(x, w0, s10);
                s11 = L.Fma(x, w1, s11);
                s12 = L.Fma(x, w2, s12);
                s13 = L.Fma(x, w3, s13);
            }
            if (R.Count > 2)
            {
                x = L.Load(xp + 2 * L.Count);
                s20 = L.Fma(x, w0, s20);
                s21 = L.Fma(x, w1, s21);
                s22 = L.Fma(x, w2, s22);
                s23 = L.Fma(x, w3, s23);
            }
            if (R.Count > 3)
            {
                x = L.Load(xp + 3 * L.Count);
                s30 = L.Fma(x, w0, s30);
                s31 = L.Fma(x, w1, s31);
                s32 = L.Fma(x, w2, s32);
                s33 = L.Fma(x, w3, s33);
            }
        }
        if (p1 + L.Count <= k)
        {
            saved[0] = s00; saved[1] = s01; saved[2] = s02; saved[3] = s03;
            if (R.Count > 1) { saved[4] = s10; saved[5] = s11; saved[6] = s12; saved[7] = s13; }
            if (R.Count > 2) { saved[8] = s20; saved[9] = s21; saved[10] = s22; saved[11] = s23; }
            if (R.Count > 3) { saved[12] = s30; saved[13] = s31; saved[14] = s32; saved[15] = s33; }
            return;
        }
        DotsOut(L.Sum4(s00, s01, s02, s03), a, b, ldb, p1, k, c, cs, accumulate);
        if (R.Count > 1) DotsOut(L.Sum4(s10, s11, s12, s13), a1, b, ldb, p1, k, c + ldc, cs, accumulate);
        if (R.Count > 2) DotsOut(L.Sum4(s20, s21, s22, s23), a2, b, ldb, p1, k, c + 2 * ldc, cs, accumulate);
        if (R.Count > 3) DotsOut(L.Sum4(s30, s31, s32, s33), a3, b, ldb, p1, k, c + 3 * ldc, cs, accumulate);
    }

    /// <summary>Adds K's ragged tail [p, k) to one row of A's four dot products and writes them to c[0], c[cs], c[2cs], c[3cs].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotsOut(Vector128<float> sums, float* a, float* b, nint ldb, int p, int k, float* c, nint cs, bool accumulate)
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
