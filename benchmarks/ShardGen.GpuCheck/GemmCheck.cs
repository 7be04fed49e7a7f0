using System;
using System.Diagnostics;
using ShardGen.Devices;

namespace ShardGen.GpuCheck;

/// <summary>The backend's GEMM on one device: correctness for every transpose case, then throughput.</summary>
internal static class GemmCheck
{
    /// <summary>
    /// op(A)·op(B) on ragged shapes (no side a multiple of the 128×128 block or of the 8-wide K step), with
    /// padded strides, against a double product on the host. Returns the worst error relative to max |C|.
    /// </summary>
    public static double Correctness(Device d, int m, int n, int k, int seed)
    {
        double worst = 0;
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            var rng = new Random(seed + (ta ? 2 : 0) + (tb ? 1 : 0));
            int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
            var a = RandomFloats(rng, aRows * aCols);
            var b = RandomFloats(rng, bRows * bCols);
            var av = Upload(d, a, aRows, aCols, aCols + 1);
            var bv = Upload(d, b, bRows, bCols, bCols + 3);
            var cv = new MatrixView(d.Allocate(m * (n + 2)), 0, m, n, n + 2);
            d.Gemm(av, ta, bv, tb, cv, accumulate: false);
            var c = new float[m * n];
            d.Download(cv, c, n);
            d.Synchronize();

            var expected = new double[m * n];
            double scale = 0;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += (double)a[ta ? p * aCols + i : i * aCols + p] * b[tb ? j * bCols + p : p * bCols + j];
                    expected[i * n + j] = s;
                    scale = Math.Max(scale, Math.Abs(s));
                }
            double error = 0;
            for (int i = 0; i < c.Length; i++) error = Math.Max(error, Math.Abs(c[i] - expected[i]));
            error /= scale;
            Console.WriteLine($"  gemm {m}×{n}×{k} transposeA={ta,-5} transposeB={tb,-5}: max error / max |C| = {error:E2}");
            worst = Math.Max(worst, error);
        }
        return worst;
    }

    /// <summary>GFLOP/s of C = A·B at n³ (float32), the median of <paramref name="samples"/> timed batches after a warm-up.</summary>
    public static double Throughput(Device d, int n, int samples, int perSample)
    {
        var rng = new Random(7);
        var a = Upload(d, RandomFloats(rng, n * n), n, n, n);
        var b = Upload(d, RandomFloats(rng, n * n), n, n, n);
        var c = new MatrixView(d.Allocate(n * n), 0, n, n, n);
        for (int i = 0; i < 3; i++) d.Gemm(a, false, b, false, c, accumulate: false); // compile + clocks up
        d.Synchronize();
        var rates = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < perSample; i++) d.Gemm(a, false, b, false, c, accumulate: false);
            d.Synchronize();
            rates[s] = 2.0 * n * n * (double)n * perSample / sw.Elapsed.TotalSeconds / 1e9;
        }
        Array.Sort(rates);
        return rates[samples / 2];
    }

    private static float[] RandomFloats(Random rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    private static MatrixView Upload(Device d, float[] values, int rows, int cols, int stride)
    {
        var v = new MatrixView(d.Allocate((rows - 1) * stride + cols), 0, rows, cols, stride);
        d.Upload(values, cols, v);
        return v;
    }
}
