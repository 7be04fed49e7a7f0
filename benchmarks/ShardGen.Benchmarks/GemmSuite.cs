using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `gemm`: the CPU backend's float32 GEMM (through the public device API: one device of 1 or 2 threads,
/// Gemm + Synchronize) against OpenBLAS cblas_sgemm on the same data and thread count, timed side by side.
/// </summary>
internal static unsafe class GemmSuite
{
    public static void Run(Options o)
    {
        if (!OpenBlas.Available)
        {
            Console.WriteLine("gemm: OpenBLAS not found; run benchmarks/setup.sh first.");
            return;
        }
        double peak1 = FmaPeak.Gflops(1), peak2 = FmaPeak.Gflops(2);
        var shapes = new List<(string Name, int M, int N, int K)>
        {
            ("square", 1024, 1024, 1024), ("square", 2048, 2048, 2048),
        };
        if (!o.Quick) shapes.Add(("square", 4096, 4096, 4096));
        foreach (int t in new[] { 1, 16, 128, 512 }) shapes.Add(("up", t, 4096, 1024));
        foreach (int t in new[] { 1, 16, 128, 512 }) shapes.Add(("down", t, 1024, 4096));

        var table = new Table("gemm: ShardGen CPU GEMM vs OpenBLAS cblas_sgemm (float32, row-major, GFLOP/s; ratio = ShardGen / OpenBLAS)",
            "shape (M×N×K)", "threads", "OpenBLAS", "ShardGen", "ratio", "target", "ShardGen % FMA peak", "max rel diff");
        var ratios = new Dictionary<int, List<double>> { [1] = new(), [2] = new() };
        foreach (var (name, m, n, k) in shapes)
            foreach (int threads in new[] { 1, 2 })
            {
                var (blas, ours, diff) = Compare(m, n, k, threads, o);
                double flop = 2.0 * m * n * k;
                double gBlas = flop / blas / 1e9, gOurs = flop / ours / 1e9;
                double ratio = gOurs / gBlas;
                ratios[threads].Add(ratio);
                table.Add($"{name} {m}×{n}×{k}", threads, gBlas, gOurs, ratio, threads == 1 ? "≥ 0.95" : "≥ 0.90",
                    100 * gOurs / (threads == 1 ? peak1 : peak2), diff.ToString("E1"));
            }
        table.Notes.Add($"FMA peak measured in this run: {peak1:F0} GFLOP/s on 1 thread, {peak2:F0} on 2. {OpenBlas.Describe}.");
        table.Notes.Add($"Geometric mean ratio: {GeoMean(ratios[1]):F2} on 1 thread, {GeoMean(ratios[2]):F2} on 2 threads; " +
                        $"minimum {ratios[1].Min():F2} / {ratios[2].Min():F2}. Medians of {o.Repetitions} interleaved repetitions.");
        table.Print();
    }

    private static double GeoMean(List<double> v) => Math.Exp(v.Average(Math.Log));

    /// <summary>Median seconds per call of OpenBLAS and of ShardGen, and the largest relative difference of their results.</summary>
    private static (double Blas, double Ours, double Diff) Compare(int m, int n, int k, int threads, Options o)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        float* a = Alloc(m * k, rng), b = Alloc(k * n, rng), c = Alloc(m * n, null);
        using var mesh = DeviceMesh.CreateCpu(1, threads);
        var device = mesh.Devices[0];
        using var da = device.Allocate(m * k);
        using var db = device.Allocate(k * n);
        using var dc = device.Allocate(m * n);
        MatrixView va = da.AsMatrix(m, k), vb = db.AsMatrix(k, n), vc = dc.AsMatrix(m, n);
        device.Upload(new ReadOnlySpan<float>(a, m * k), k, va);
        device.Upload(new ReadOnlySpan<float>(b, k * n), n, vb);
        try
        {
            void Blas() => OpenBlas.Gemm(m, n, k, a, b, c);
            void Ours()
            {
                device.Gemm(va, false, vb, false, vc, accumulate: false);
                device.Synchronize();
            }
            // OpenBLAS's idle workers spin for a while after a call; let them go to sleep before ShardGen's sample.
            void AfterSample(int contender)
            {
                if (contender == 0 && threads > 1) Thread.Sleep(150);
            }
            OpenBlas.SetNumThreads(threads);
            var t = Measure.SideBySide(o.Repetitions, o.MinSeconds, new Action[] { Blas, Ours }, AfterSample);
            var ours = new float[m * n];
            device.Download(vc, ours, n);
            double diff = 0, scale = 0;
            for (int i = 0; i < m * n; i++)
            {
                diff = Math.Max(diff, Math.Abs(ours[i] - c[i]));
                scale = Math.Max(scale, Math.Abs(c[i]));
            }
            return (t[0], t[1], diff / Math.Max(scale, 1e-30));
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
    }

    private static float* Alloc(int count, Random? rng)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)Math.Max(count, 16) * sizeof(float), 64);
        for (int i = 0; i < count; i++) p[i] = rng == null ? 0f : (float)(rng.NextDouble() * 2 - 1);
        return p;
    }
}
