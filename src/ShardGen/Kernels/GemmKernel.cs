using System;
using System.Runtime.CompilerServices;

namespace ShardGen.Kernels;

/// <summary>
/// Cache-blocked float32 GEMM (the BLIS loop nest): jc over NC-column blocks of B̃ (L3), pc over KC-deep
/// slices, ic over MC-row blocks of Ã (L2), then NR×MR register tiles. The bias + activation epilogue runs
/// on each output tile right after its last K slice is stored, while the tile is still in L1.
/// </summary>
internal static unsafe class GemmKernel
{
    /// <summary>Which micro-kernel this machine uses.</summary>
    public static string KernelName =>
        MicroKernel512Rows.IsSupported ? "avx512 6x64" : MicroKernel256.IsSupported ? "avx2 6x16" : "scalar 4x4";

    private static int TileRows => MicroKernel512Rows.IsSupported ? MicroKernel512Rows.MR : MicroKernel256.IsSupported ? MicroKernel256.MR : MicroKernelScalar.MR;

    private static int TileCols => MicroKernel512Rows.IsSupported ? MicroKernel512Rows.NR : MicroKernel256.IsSupported ? MicroKernel256.NR : MicroKernelScalar.NR;

    /// <summary>Runs the GEMM on the calling thread.</summary>
    public static void Run(in GemmArgs g, GemmWorkspace workspace)
    {
        if (SkinnyGemm.Applies(g))
        {
            SkinnyGemm.Run(g);
            return;
        }
        if (MicroKernel512Rows.IsSupported) Avx512(g, workspace);
        else if (MicroKernel256.IsSupported) Blocked<MicroKernel256>(g, workspace);
        else Blocked<MicroKernelScalar>(g, workspace);
    }

    /// <summary>
    /// Runs the GEMM over a thread team: C is cut into one contiguous strip per thread, along N when there
    /// are enough column tiles, else along M; each strip is an independent GEMM with its own workspace.
    /// </summary>
    public static void Run(GemmArgs g, GemmWorkspace[] workspaces, KernelThreadTeam? team)
    {
        if (SkinnyGemm.Applies(g))
        {
            // A few rows (decoding): the time is reading B, so stream it once, columns split over the team.
            SkinnyGemm.Run(g, team);
            return;
        }
        int threads = team?.Threads ?? 1;
        // Below ~1 MFLOP the fork/join costs more than it saves.
        if (threads == 1 || (long)g.M * g.N * Math.Max(g.K, 1) < (1L << 19))
        {
            Run(g, workspaces[0]);
            return;
        }
        int nTiles = (g.N + TileCols - 1) / TileCols;
        int mTiles = (g.M + TileRows - 1) / TileRows;
        bool splitN = nTiles >= threads && (nTiles >= mTiles || mTiles < threads);
        int tiles = splitN ? nTiles : mTiles;
        int parts = Math.Min(threads, tiles);
        if (parts <= 1)
        {
            Run(g, workspaces[0]);
            return;
        }
        RunStrips(g, workspaces, team!, splitN, tiles, parts);
    }

    private static void RunStrips(in GemmArgs g, GemmWorkspace[] workspaces, KernelThreadTeam team, bool splitN, int tiles, int parts)
    {
        var job = team.GemmStrips;
        job.Set(g, workspaces, splitN, tiles, parts);
        team.Run(job);
    }

    /// <summary>One strip of C per team member; set before each team run.</summary>
    internal sealed class StripJob : ITeamJob
    {
        private GemmArgs _g;
        private GemmWorkspace[] _workspaces = [];
        private bool _splitN;
        private int _tiles, _parts;

        public void Set(in GemmArgs g, GemmWorkspace[] workspaces, bool splitN, int tiles, int parts)
        {
            _g = g;
            _workspaces = workspaces;
            _splitN = splitN;
            _tiles = tiles;
            _parts = parts;
        }

        public void Run(int member)
        {
            if (member >= _parts) return;
            int tile = _splitN ? TileCols : TileRows;
            int total = _splitN ? _g.N : _g.M;
            // Whole tiles per strip so only the last strip has a ragged edge.
            int start = Math.Min(total, Planning.EvenRanges.Start(_tiles, _parts, member) * tile);
            int end = Math.Min(total, start + Planning.EvenRanges.Length(_tiles, _parts, member) * tile);
            if (end <= start) return;
            var sub = _splitN ? _g.ColumnSlice(start, end - start) : _g.RowSlice(start, end - start);
            GemmKernel.Run(sub, _workspaces[member]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocked<TKernel>(in GemmArgs g, GemmWorkspace ws) where TKernel : struct, IMicroKernel
    {
        int mrMax = TKernel.MR, nrMax = TKernel.NR;
        int m = g.M, n = g.N, k = g.K;
        nint ldc = g.Ldc;
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            EmptyProduct(g);
            return;
        }

        int kcMax = Math.Min(TKernel.KC, k);
        int mcMax = Math.Min(TKernel.MC, RoundUp(m, mrMax));
        int ncMax = Math.Min(TKernel.NC, RoundUp(n, nrMax));
        float* packA = ws.PackA((nint)mcMax * kcMax);
        float* packB = ws.PackB((nint)ncMax * kcMax);
        float* tile = ws.Tile((nint)mrMax * nrMax);
        bool epilogue = g.HasEpilogue;

        for (int jc = 0; jc < n; jc += TKernel.NC)
        {
            int nc = Math.Min(TKernel.NC, n - jc);
            for (int pc = 0; pc < k; pc += TKernel.KC)
            {
                int kc = Math.Min(TKernel.KC, k - pc);
                bool add = g.Accumulate || pc > 0;
                bool last = pc + kc == k;
                GemmPacking.PackB(g, pc, jc, kc, nc, nrMax, packB);
                for (int ic = 0; ic < m; ic += TKernel.MC)
                {
                    int mc = Math.Min(TKernel.MC, m - ic);
                    GemmPacking.PackA(g.A, g.Lda, g.TransA, ic, pc, mc, kc, mrMax, packA);
                    for (int jr = 0; jr < nc; jr += nrMax)
                    {
                        int nr = Math.Min(nrMax, nc - jr);
                        float* bp = packB + (nint)jr * kc;
                        for (int ir = 0; ir < mc; ir += mrMax)
                        {
                            int mr = Math.Min(mrMax, mc - ir);
                            float* ap = packA + (nint)ir * kc;
                            float* c = g.C + (ic + ir) * ldc + jc + jr;
                            if (mr == mrMax && nr == nrMax)
                            {
                                TKernel.Run(kc, ap, bp, c, ldc, add);
                            }
                            else
                            {
                                // Ragged edge: compute the whole padded tile aside, merge the valid part.
                                TKernel.Run(kc, ap, bp, tile, nrMax, false);
                                MergeTile(tile, nrMax, c, ldc, mr, nr, add);
                            }
                            if (last && epilogue)
                            {
                                float* bias = g.Bias == null ? null : g.Bias + jc + jr;
                                for (int r = 0; r < mr; r++) Activations.ApplyRow(c + r * ldc, bias, nr, g.Activation);
                            }
                        }
                    }
                }
            }
        }
    }

    // AVX-512 blocking (Zen 4/5, Ice Lake+: 32-48 KiB L1d, 1-2 MiB L2). The 6×kc A micro-panel stays in L1 while
    // the kernel sweeps the 64-wide B̃ panels of a kc×nc block that lives in L2; A is read in place (row-major)
    // or packed 6 rows at a time (transposed). A deep kc keeps C-tile traffic low: each C tile is read and
    // written K/kc times.
    internal static readonly int Kc512 = Tune("KC", 384);
    internal static readonly int Nc512 = Tune("NC", 256); // 256 keeps A's KC slice and the B panel in one core's L2 when two devices run side by side
    // At most this many rows, B is read in place (no packing): each B element is used by ≤ 4 row tiles.
    internal static readonly int SkinnyRows512 = Tune("SKINNY", 24);
    internal static readonly int SkinnyKc512 = Tune("SKC", 256);
    // From this many elements of A (M·K, 16 MiB: about half the L3), A is packed (see Avx512), in blocks of this many rows.
    internal static readonly long PackAFloats512 = Tune("PACKA", 4 << 20);
    internal static readonly int PackAMc512 = Tune("PACKMC", 4096);

    private static int Tune(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("SHARDGEN_GEMM_" + name), out int v) && v > 0 ? v : fallback;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx512(in GemmArgs g, GemmWorkspace ws)
    {
        const int nr = MicroKernel512Rows.NR, mr = MicroKernel512Rows.MR;
        int m = g.M, n = g.N, k = g.K;
        nint ldc = g.Ldc;
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            EmptyProduct(g);
            return;
        }
        bool epilogue = g.HasEpilogue;
        float* tile = ws.Tile((nint)mr * nr);

        if (!g.TransB && m <= SkinnyRows512 && g.B16 == null)
        {
            // Skinny: B read in place, panel by panel; the panel (kc×64) stays in L1/L2 for the few row tiles. A bfloat16
            // B takes the packed paths below instead (widened while packed).
            int kcMax = Math.Min(SkinnyKc512, k);
            float* aPack = g.TransA ? ws.PackA((nint)m * kcMax) : null;
            // This path never packs B, so the PackB buffer holds the zero-padded right-edge panel.
            float* edge = ws.PackB((nint)kcMax * nr);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                bool add = g.Accumulate || pc > 0, last = pc + kc == k;
                float* a;
                nint lda;
                if (g.TransA)
                {
                    GemmPacking.PackRows(g.A, g.Lda, true, 0, pc, m, kc, aPack);
                    a = aPack;
                    lda = kc;
                }
                else
                {
                    a = g.A + pc;
                    lda = g.Lda;
                }
                for (int jr = 0; jr < n; jr += nr)
                {
                    int cols = Math.Min(nr, n - jr);
                    float* b;
                    nint ldb;
                    if (cols == nr)
                    {
                        b = g.B + (nint)pc * g.Ldb + jr;
                        ldb = g.Ldb;
                    }
                    else
                    {
                        GemmPacking.PackB(g.B, g.Ldb, false, pc, jr, kc, cols, nr, edge);
                        b = edge;
                        ldb = nr;
                    }
                    for (int ir = 0; ir < m; ir += mr)
                        Tile512(g, a + ir * lda, lda, b, ldb, kc, ir, jr, Math.Min(mr, m - ir), cols, add, last && epilogue, tile);
                }
            }
            return;
        }

        if ((long)m * k >= PackAFloats512 || (g.TransA && m >= 8))
        {
            // Also Aᵀ (a weight gradient Xᵀ·dY): its block is turned once per KC slice, 8×8 in registers, rather than
            // gathered six strided rows at a time for every NC block.
            // Large A (beyond L3 or a long row stride): pack a block of whole rows' KC slice once per (ic, pc),
            // contiguous (stride kc), so each 6-row sliver the kernel streams is one sequential run from L3
            // instead of six strided runs from memory, and A comes from memory once rather than once per NC block.
            int kcMax = Math.Min(Kc512, k);
            int mcMax = Math.Min(PackAMc512, m);
            int ncMax = Math.Min(Nc512, RoundUp(n, nr));
            float* packB = ws.PackB((nint)ncMax * kcMax);
            float* packA = ws.PackA((nint)mcMax * kcMax);
            for (int ic = 0; ic < m; ic += mcMax)
            {
                int mc = Math.Min(mcMax, m - ic);
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, k - pc);
                    bool add = g.Accumulate || pc > 0, last = pc + kc == k;
                    GemmPacking.PackRows(g.A, g.Lda, g.TransA, ic, pc, mc, kc, packA);
                    for (int jc = 0; jc < n; jc += ncMax)
                    {
                        int nc = Math.Min(ncMax, n - jc);
                        GemmPacking.PackB(g, pc, jc, kc, nc, nr, packB);
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int rows = Math.Min(mr, mc - ir);
                            float* a = packA + (nint)ir * kc;
                            for (int jr = 0; jr < nc; jr += nr)
                                Tile512(g, a, kc, packB + (nint)jr * kc, nr, kc, ic + ir, jc + jr, rows, Math.Min(nr, nc - jr), add, last && epilogue, tile);
                        }
                    }
                }
            }
            return;
        }

        {
            int kcMax = Math.Min(Kc512, k);
            int ncMax = Math.Min(Nc512, RoundUp(n, nr));
            float* packB = ws.PackB((nint)ncMax * kcMax);
            float* aPack = g.TransA ? ws.PackA((nint)mr * kcMax) : null;
            for (int jc = 0; jc < n; jc += ncMax)
            {
                int nc = Math.Min(ncMax, n - jc);
                for (int pc = 0; pc < k; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, k - pc);
                    bool add = g.Accumulate || pc > 0, last = pc + kc == k;
                    GemmPacking.PackB(g, pc, jc, kc, nc, nr, packB);
                    for (int ir = 0; ir < m; ir += mr)
                    {
                        int rows = Math.Min(mr, m - ir);
                        float* a;
                        nint lda;
                        if (g.TransA)
                        {
                            GemmPacking.PackRows(g.A, g.Lda, true, ir, pc, rows, kc, aPack);
                            a = aPack;
                            lda = kc;
                        }
                        else
                        {
                            a = g.A + (nint)ir * g.Lda + pc;
                            lda = g.Lda;
                        }
                        for (int jr = 0; jr < nc; jr += nr)
                            Tile512(g, a, lda, packB + (nint)jr * kc, nr, kc, ir, jc + jr, rows, Math.Min(nr, nc - jr), add, last && epilogue, tile);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile512(in GemmArgs g, float* a, nint lda, float* b, nint ldb, int kc, int i0, int j0, int rows, int cols,
        bool add, bool epilogue, float* tile)
    {
        nint ldc = g.Ldc;
        float* c = g.C + i0 * ldc + j0;
        if (cols == MicroKernel512Rows.NR)
        {
            MicroKernel512Rows.Run(rows, kc, a, lda, b, ldb, c, ldc, add);
        }
        else
        {
            // Ragged right edge: compute the padded tile aside, merge the valid columns.
            MicroKernel512Rows.Run(rows, kc, a, lda, b, ldb, tile, MicroKernel512Rows.NR, false);
            MergeTile(tile, MicroKernel512Rows.NR, c, ldc, rows, cols, add);
        }
        if (epilogue)
        {
            float* bias = g.Bias == null ? null : g.Bias + j0;
            for (int r = 0; r < rows; r++) Activations.ApplyRow(c + r * ldc, bias, cols, g.Activation);
        }
    }

    private static void MergeTile(float* tile, int ldt, float* c, nint ldc, int mr, int nr, bool add)
    {
        for (int r = 0; r < mr; r++)
        {
            float* src = tile + r * ldt;
            float* dst = c + r * ldc;
            if (add) Elementwise.AddRow(src, dst, nr);
            else Elementwise.CopyRow(src, dst, nr);
        }
    }

    /// <summary>K = 0: the product is zero, so C is C (accumulate) or 0, then the epilogue.</summary>
    private static void EmptyProduct(in GemmArgs g)
    {
        for (int r = 0; r < g.M; r++)
        {
            float* row = g.C + (nint)r * g.Ldc;
            if (!g.Accumulate) new Span<float>(row, g.N).Clear();
            if (g.HasEpilogue) Activations.ApplyRow(row, g.Bias, g.N, g.Activation);
        }
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}
