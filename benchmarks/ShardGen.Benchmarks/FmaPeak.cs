using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading;

namespace ShardGen.Benchmarks;

/// <summary>The FMA peak of this machine, measured: independent Vector512 (or Vector256) FMA chains, no memory traffic.</summary>
internal static class FmaPeak
{
    /// <summary>GFLOP/s of <paramref name="threads"/> threads each running the FMA loop (median of a few runs).</summary>
    public static double Gflops(int threads, int repetitions = 5)
    {
        var samples = new double[repetitions];
        for (int r = 0; r < repetitions; r++)
        {
            long iterations = 20_000_000;
            var workers = new Thread[threads];
            double[] flops = new double[threads];
            var clock = Stopwatch.StartNew();
            for (int t = 0; t < threads; t++)
            {
                int id = t;
                workers[t] = new Thread(() => flops[id] = Loop(iterations)) { IsBackground = true };
                workers[t].Start();
            }
            foreach (var w in workers) w.Join();
            double seconds = clock.Elapsed.TotalSeconds;
            double total = 0;
            foreach (var f in flops) total += f;
            samples[r] = total / seconds / 1e9;
        }
        return Measure.Median(samples);
    }

    /// <summary>FLOPs done: 16 chains (4-cycle latency × 2 pipes needs ≥ 8) of width-16 FMAs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static double Loop(long iterations)
    {
        if (!Avx512F.IsSupported) return Loop256(iterations);
        var m = Vector512.Create(0.999999f);
        var a = Vector512.Create(1e-7f);
        Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        Vector512<float> c8 = c0, c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, m, a); c1 = Avx512F.FusedMultiplyAdd(c1, m, a);
            c2 = Avx512F.FusedMultiplyAdd(c2, m, a); c3 = Avx512F.FusedMultiplyAdd(c3, m, a);
            c4 = Avx512F.FusedMultiplyAdd(c4, m, a); c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
            c6 = Avx512F.FusedMultiplyAdd(c6, m, a); c7 = Avx512F.FusedMultiplyAdd(c7, m, a);
            c8 = Avx512F.FusedMultiplyAdd(c8, m, a); c9 = Avx512F.FusedMultiplyAdd(c9, m, a);
            c10 = Avx512F.FusedMultiplyAdd(c10, m, a); c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
            c12 = Avx512F.FusedMultiplyAdd(c12, m, a); c13 = Avx512F.FusedMultiplyAdd(c13, m, a);
            c14 = Avx512F.FusedMultiplyAdd(c14, m, a); c15 = Avx512F.FusedMultiplyAdd(c15, m, a);
        }
        var s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15;
        Sink = s.GetElement(0);
        return iterations * 16.0 * 16 * 2;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Loop256(long iterations)
    {
        var m = Vector256.Create(0.999999f);
        var a = Vector256.Create(1e-7f);
        Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a); c2 = Fma.MultiplyAdd(c2, m, a);
            c3 = Fma.MultiplyAdd(c3, m, a); c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
            c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a); c8 = Fma.MultiplyAdd(c8, m, a);
            c9 = Fma.MultiplyAdd(c9, m, a);
        }
        Sink = (c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9).GetElement(0);
        return iterations * 10.0 * 8 * 2;
    }

    public static float Sink;
}
