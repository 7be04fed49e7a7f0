using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using ShardGen.Devices;
using ShardGen.Tests.Reference;

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
            var a = ReferenceMath.RandomMatrix(rng, aRows, aCols);
            var b = ReferenceMath.RandomMatrix(rng, bRows, bCols);
            var av = Upload(d, a, aCols + 1);
            var bv = Upload(d, b, bCols + 3);
            var cv = new MatrixView(d.Allocate(m * (n + 2)), 0, m, n, n + 2);
            d.Gemm(av, ta, bv, tb, cv, accumulate: false);
            var c = new float[m, n];
            d.Download(cv, Flat(c), n);

            // The reference's weight is op(B), stored [in, out], or [out, in] when B is transposed.
            var expected = ReferenceMath.Linear(Op(a, ta), b, null, outIn: tb, Activation.None);
            double error = ReferenceMath.RelativeError(c, expected);
            Console.WriteLine($"  gemm {m}×{n}×{k} transposeA={ta,-5} transposeB={tb,-5}: max error / max |C| = {error:E2}");
            worst = Math.Max(worst, error);
        }
        return worst;
    }

    /// <summary>GFLOP/s of C = A·B at n³ (float32), the median of <paramref name="samples"/> timed batches after a warm-up.</summary>
    public static double Throughput(Device d, int n, int samples, int perSample)
    {
        var rng = new Random(7);
        var a = Upload(d, ReferenceMath.RandomMatrix(rng, n, n), n);
        var b = Upload(d, ReferenceMath.RandomMatrix(rng, n, n), n);
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

    /// <summary>A host matrix as the row-major span it is.</summary>
    private static Span<float> Flat(float[,] x) => MemoryMarshal.CreateSpan(ref x[0, 0], x.Length);

    /// <summary>op(X) in double: X, or its transpose.</summary>
    private static double[,] Op(float[,] x, bool transpose)
    {
        if (!transpose) return ReferenceMath.ToDouble(x);
        int rows = x.GetLength(0), cols = x.GetLength(1);
        var t = new double[cols, rows];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c, r] = x[r, c];
        return t;
    }

    private static MatrixView Upload(Device d, float[,] values, int stride)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var v = new MatrixView(d.Allocate((rows - 1) * stride + cols), 0, rows, cols, stride);
        d.Upload(Flat(values), cols, v);
        return v;
    }
}
