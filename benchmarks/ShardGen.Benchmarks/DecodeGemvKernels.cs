using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ShardGen.Kernels;

namespace ShardGen.Benchmarks;

/// <summary>
/// Part of suite `decode-gemv`: the decode GEMM kernel alone (<see cref="SkinnyGemm"/>, no device queue) on the benchmark
/// model's weight shapes, both orientations, 1, 2, 4 and 8 rows of A, 1 thread and a 2-thread team; its previous body
/// (<see cref="SkinnyGemmBefore"/>) and a streaming read of the same number of threads timed side by side in one run.
/// Every call reads its weights from a fresh place in a 512 MiB pool, so no shape (o's 16 MB would) stays in L3.
/// SHARDGEN_GEMV_FILTER=text keeps the cases whose name contains the text (a quicker run while tuning).
/// </summary>
internal static unsafe class DecodeGemvKernels
{
    internal const long PoolFloats = 128L << 20;

    /// <summary>A weight matrix as the kernel sees it: B [N, K] (transposed) or [K, N], its leading dimension.</summary>
    internal sealed record Shape(string Name, bool Transposed, int N, int K, int Ld);

    internal static readonly Shape[] Shapes =
    [
        new("q|k|v", true, 3072, 2048, 2048),
        new("in cache", true, 64, 2048, 2048), // 512 KiB, read again every call from L2: the compute limit
        new("k (a part)", true, 512, 2048, 2048),
        new("o", true, 2048, 2048, 2048),
        new("o, 2 devices", true, 2048, 1024, 2048),
        new("gate|up", true, 11264, 2048, 2048),
        new("down", true, 2048, 5632, 5632),
        new("down, 2 devices", true, 2048, 2816, 5632),
        new("head", true, 32000, 2048, 2048),
        new("q|k|v", false, 3072, 2048, 3072),
        new("o", false, 2048, 2048, 2048),
        new("gate|up", false, 11264, 2048, 11264),
        new("down", false, 2048, 5632, 2048),
        new("head", false, 32000, 2048, 32000),
    ];

    internal static readonly int[] RowCounts = [1, 2, 4, 8];

    public static void Run(Options o)
    {
        string? filter = Environment.GetEnvironmentVariable("SHARDGEN_GEMV_FILTER");
        var table = new Table("decode-gemv kernel: SkinnyGemm before (4795db2) and now, weight bytes per second against a streaming read of the same threads",
            "threads", "B", "[N, K] (ld)", "M", "MB", "before GB/s", "now GB/s", "read GB/s", "before ratio", "now ratio", "now GFLOP/s", "of FMA peak");
        var pool = (float*)NativeMemory.AlignedAlloc((nuint)(PoolFloats * 4), 64);
        var a = (float*)NativeMemory.AlignedAlloc(8 * 5632 * 4, 64);
        var c = (float*)NativeMemory.AlignedAlloc(8 * 32000 * 4, 64);
        try
        {
            Fill(pool, PoolFloats);
            Fill(a, 8 * 5632);
            foreach (int threads in new[] { 1, 2 })
            {
                using var team = threads > 1 ? new KernelThreadTeam(threads, "gemv bench") : null;
                var read = new StreamRead(pool, team);
                var cases = new List<(Shape S, int M, Action Before, Action Now)>();
                foreach (var s in Shapes)
                foreach (int m in RowCounts)
                {
                    string name = Name(s, m);
                    if (filter != null && !$"{threads} {name}".Contains(filter, StringComparison.Ordinal)) continue;
                    var next = new Window(pool, s);
                    cases.Add((s, m,
                        () => SkinnyGemmBefore.Run(next.Args(a, c, m), team),
                        () => SkinnyGemm.Run(next.Args(a, c, m), team)));
                }
                if (cases.Count == 0) continue;
                double peak = threads * PeakPerThread();
                double bestRead = ReadBandwidth.BytesPerSecond(threads) / 1e9;
                table.Notes.Add($"{threads} thread(s): ReadBandwidth.cs (1 GiB, best of 5) {bestRead:F1} GB/s; FMA peak {peak:F0} GFLOP/s (one thread's fastest 0.5 ms of FmaPeak's loop, times the threads).");
                var contenders = new List<Action> { read.Sum };
                foreach (var k in cases)
                {
                    contenders.Add(k.Before);
                    contenders.Add(k.Now);
                }
                var seconds = BestCalls(o.Repetitions, o.MinSeconds, contenders.ToArray());
                double readGBs = StreamRead.Bytes / seconds[0] / 1e9;
                for (int i = 0; i < cases.Count; i++)
                {
                    var (s, m, _, _) = cases[i];
                    double bytes = 4.0 * s.N * s.K, before = bytes / seconds[1 + 2 * i] / 1e9, now = bytes / seconds[2 + 2 * i] / 1e9;
                    double gflops = 2.0 * m * s.N * s.K / seconds[2 + 2 * i] / 1e9;
                    table.Add(threads, s.Transposed ? "[N, K]" : "[K, N]", Dims(s), m, bytes / 1e6, before, now, readGBs, before / readGBs, now / readGBs, gflops, gflops / peak);
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(pool);
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(c);
        }
        table.Notes.Add("GB/s = B's bytes / seconds of the fastest kernel call (A and C are a few KB, in cache). Read GB/s = 32 MiB of the pool summed " +
                        "with Vector512 by the same team (a fresh window each call), its fastest call, timed side by side. Ratio = GB/s / read GB/s. Targets: transposed B at M = 1 ≥ 0.9, " +
                        "M = 2, 4, 8 ≥ 0.8. FMA peak: 16 independent Vector512 FMA chains per thread, no memory (FmaPeak.cs); at M = 8 the kernel " +
                        "does 8 FMAs per weight, so its GFLOP/s against that peak says how near the compute limit it runs.");
        table.Print();
    }

    /// <summary>
    /// Seconds of each contender's fastest single call, the contenders taking turns for <paramref name="rounds"/> rounds
    /// of <paramref name="minSeconds"/> each. A call lasts 0.1–15 ms, shorter than a time slice: on these 2 cores shared
    /// with other sessions the fastest call is the one no other process interrupted, where a median would time the
    /// neighbours. Memory traffic from the neighbours still slows every contender alike.
    /// </summary>
    internal static double[] BestCalls(int rounds, double minSeconds, Action[] contenders)
    {
        var best = new double[contenders.Length];
        Array.Fill(best, double.MaxValue);
        foreach (var c in contenders) c();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < contenders.Length; i++)
            {
                var total = System.Diagnostics.Stopwatch.StartNew();
                do
                {
                    long start = System.Diagnostics.Stopwatch.GetTimestamp();
                    contenders[i]();
                    best[i] = Math.Min(best[i], System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds);
                } while (total.Elapsed.TotalSeconds < minSeconds);
            }
        return best;
    }

    /// <summary>
    /// The streaming-read limit in calls as short as the kernel's: each sums the next 32 MiB of the pool with Vector512
    /// (four accumulators, as ReadBandwidth.cs), split over the same team as the kernel.
    /// </summary>
    internal sealed class StreamRead(float* pool, KernelThreadTeam? team) : ITeamJob
    {
        private const long Floats = 8L << 20;
        private long _offset;

        public static long Bytes => Floats * 4;

        public static float Sink;

        public void Sum()
        {
            if (_offset + Floats > PoolFloats) _offset = 0;
            if (team == null) Run(0);
            else team.Run(this);
            _offset += Floats;
        }

        public void Run(int member)
        {
            int parts = team?.Threads ?? 1;
            long part = Floats / parts;
            float* p = pool + _offset + member * part;
            var s0 = Vector512<float>.Zero;
            var s1 = s0;
            var s2 = s0;
            var s3 = s0;
            for (long i = 0; i < part; i += 64)
            {
                s0 += Vector512.Load(p + i);
                s1 += Vector512.Load(p + i + 16);
                s2 += Vector512.Load(p + i + 32);
                s3 += Vector512.Load(p + i + 48);
            }
            Sink += Vector512.Sum(s0 + s1 + s2 + s3);
        }
    }

    /// <summary>GFLOP/s of FmaPeak's FMA loop on this thread: its fastest short run, for the reason BestCalls gives.</summary>
    internal static double PeakPerThread()
    {
        double best = 0;
        for (int i = 0; i < 200; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            double flops = FmaPeak.Loop(100_000);
            best = Math.Max(best, flops / System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);
        }
        return best;
    }

    internal static string Name(Shape s, int m) => $"{(s.Transposed ? "[N, K]" : "[K, N]")} {s.Name} M={m}";

    internal static string Dims(Shape s)
    {
        int rows = s.Transposed ? s.N : s.K, cols = s.Transposed ? s.K : s.N;
        return $"{s.Name} [{rows}, {cols}]" + (s.Ld != cols ? $" ({s.Ld})" : "");
    }

    /// <summary>Hands out successive windows of the pool for one shape, so each call reads weights no cache holds.</summary>
    private sealed class Window(float* pool, Shape s)
    {
        private readonly long _span = (long)(s.Transposed ? s.N : s.K) * s.Ld;
        private long _offset;

        public GemmArgs Args(float* a, float* c, int m)
        {
            if (_offset + _span > PoolFloats || s.Name == "in cache") _offset = 0;
            float* b = pool + _offset;
            _offset += (_span + 15) / 16 * 16;
            return new GemmArgs(a, s.K, false, b, s.Ld, s.Transposed, c, s.N, m, s.N, s.K, false, null, Activation.None);
        }
    }

    internal static void Fill(float* p, long count)
    {
        // xorshift: random operands (Operands.cs says why), fast enough for half a GiB.
        uint x = 2463534242;
        for (long i = 0; i < count; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            p[i] = (x >> 8) * (2f / (1 << 24)) - 1f;
        }
    }
}
