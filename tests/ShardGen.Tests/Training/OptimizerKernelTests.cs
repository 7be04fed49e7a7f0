using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Tests.Reference;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Training;

/// <summary>SGD and AdamW steps against double references written from PyTorch's formulas and against torch.optim.AdamW itself.</summary>
public sealed class OptimizerKernelTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);

    public void Dispose() => _mesh.Dispose();

    private Device D => _mesh.Devices[0];

    [Fact]
    public void SgdStepsMatchTheFormula()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 5, cols = 13;
        var w = RoundToFloat(Random(rng, rows * cols));
        var wv = Upload(D, w, rows, cols, stride: 16);
        for (int step = 0; step < 3; step++)
        {
            var g = RoundToFloat(Random(rng, rows * cols));
            D.SgdStep(wv, Upload(D, g, rows, cols), 0.1f);
            w = w.Select((v, i) => v - (double)0.1f * g[i]).ToArray();
        }
        AssertClose(Download(wv), w, 1e-6, "SGD");
    }

    /// <summary>torch.optim.AdamW's single-tensor step in double, written from its source (torch/optim/adamw.py).</summary>
    private static void AdamW(double[] w, double[] g, double[] m, double[] v, double lr, double b1, double b2, double eps, double wd, int t)
    {
        for (int i = 0; i < w.Length; i++)
        {
            w[i] *= 1 - lr * wd;
            m[i] = m[i] * b1 + (1 - b1) * g[i];
            v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
            double denom = Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
            w[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / denom;
        }
    }

    private (float[] W, float[] M, float[] V) RunAdamW(double[] w0, double[][] grads, int rows, int cols, float lr, float wd)
    {
        var wv = Upload(D, w0, rows, cols, stride: cols + 1);
        var m = Alloc(D, rows, cols);
        var v = Alloc(D, rows, cols, stride: cols + 2, offset: 1);
        for (int t = 1; t <= grads.Length; t++)
            D.AdamWStep(wv, Upload(D, grads[t - 1], rows, cols), m, v, lr, 0.9f, 0.999f, 1e-8f, wd, t);
        return (Download(wv), Download(m), Download(v));
    }

    [Fact]
    public void AdamWStepsMatchTheDoubleReference()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 4, cols = 9, steps = 4;
        float lr = 1e-2f, wd = 0.01f;
        var w0 = RoundToFloat(Random(rng, rows * cols));
        var grads = Enumerable.Range(0, steps).Select(_ => RoundToFloat(Random(rng, rows * cols))).ToArray();
        var (w, m, v) = RunAdamW(w0, grads, rows, cols, lr, wd);
        double[] rw = (double[])w0.Clone(), rm = new double[w0.Length], rv = new double[w0.Length];
        for (int t = 1; t <= steps; t++) AdamW(rw, grads[t - 1], rm, rv, lr, 0.9f, 0.999f, 1e-8f, wd, t);
        AssertClose(w, rw, 1e-6, "w");
        AssertClose(m, rm, 1e-6, "m");
        AssertClose(v, rv, 1e-6, "v");
        // The update moved w by about lr per step: the comparison is not of an unchanged weight.
        Assert.True(RelativeError(w, w0) > 1e-2);
    }

    [TorchFact]
    public void AdamWStepsMatchTorchOptimAdamW()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 3, cols = 7, steps = 3;
        float lr = 1e-3f, wd = 0.01f;
        var w0 = RoundToFloat(Random(rng, rows * cols));
        var grads = Enumerable.Range(0, steps).Select(_ => RoundToFloat(Random(rng, rows * cols))).ToArray();
        var (w, _, _) = RunAdamW(w0, grads, rows, cols, lr, wd);

        const string script = """
            import sys, torch
            lines = sys.stdin.read().split('\n')
            lr, wd = float(lines[0]), float(lines[1])
            w = torch.nn.Parameter(torch.tensor([float(x) for x in lines[2].split()], dtype=torch.float32))
            opt = torch.optim.AdamW([w], lr=lr, weight_decay=wd)
            for line in lines[3:]:
                if not line.strip(): continue
                w.grad = torch.tensor([float(x) for x in line.split()], dtype=torch.float32)
                opt.step()
            print(' '.join(repr(float(x)) for x in w.detach()))
            """;
        string Row(double[] x) => string.Join(' ', x.Select(e => e.ToString("R", CultureInfo.InvariantCulture)));
        string input = string.Join('\n', new[] { ((double)lr).ToString("R", CultureInfo.InvariantCulture), ((double)wd).ToString("R", CultureInfo.InvariantCulture), Row(w0) }
            .Concat(grads.Select(Row)));
        var info = new ProcessStartInfo(TorchReference.Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(info)!;
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(120_000) && p.ExitCode == 0, error);
        var torch = output.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        // float32 on both sides, same order of operations: a few ulps apart.
        AssertClose(w, torch, 1e-6, "AdamW vs torch.optim.AdamW (float32)");
        Assert.True(RelativeError(w, w0) > 1e-4);
    }

    [Fact]
    public void SumOfSquaresAccumulatesInDoubleAndScaleScales()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        var a = RoundToFloat(Random(rng, 6 * 11));
        var b = RoundToFloat(Random(rng, 300));
        var result = Upload(D, [0.25], 1, 1);
        D.SumOfSquares(Upload(D, a, 6, 11, stride: 12), result);
        D.SumOfSquares(Upload(D, b, 1, 300), result);
        double expected = 0.25 + a.Sum(x => x * x) + b.Sum(x => x * x);
        Assert.True(Math.Abs(Download(result)[0] - expected) <= 2e-7 * expected, $"{Download(result)[0]} vs {expected}");
        var gv = Upload(D, a, 6, 11);
        D.Scale(gv, 0.5f);
        AssertClose(Download(gv), a.Select(x => x * 0.5).ToArray(), 1e-7, "Scale");
    }

    [Fact]
    public void BadOptimizerArgumentsThrowBeforeEnqueue()
    {
        var w = Alloc(D, 2, 3);
        var g = Alloc(D, 2, 3);
        Backend.NormalizationTests.AssertThrows(() => D.SgdStep(w, Alloc(D, 3, 2), 0.1f), "g must be 2×3");
        Backend.NormalizationTests.AssertThrows(() => D.SgdStep(w, g, -1f), "learning rate");
        Backend.NormalizationTests.AssertThrows(() => D.SgdStep(w, g, float.NaN), "learning rate");
        Backend.NormalizationTests.AssertThrows(() => D.AdamWStep(w, g, Alloc(D, 2, 3), Alloc(D, 2, 3), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0), "starts at 1");
        Backend.NormalizationTests.AssertThrows(() => D.AdamWStep(w, g, Alloc(D, 2, 3), Alloc(D, 2, 2), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1), "v must be 2×3");
        Backend.NormalizationTests.AssertThrows(() => D.AdamWStep(w, g, g, Alloc(D, 2, 3), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 1), "must not overlap");
        Backend.NormalizationTests.AssertThrows(() => D.AdamWStep(w, g, Alloc(D, 2, 3), Alloc(D, 2, 3), 1e-3f, 1f, 0.999f, 1e-8f, 0.01f, 1), "β₁");
        Backend.NormalizationTests.AssertThrows(() => D.SumOfSquares(g, Alloc(D, 1, 2)), "result must be 1×1");
        Backend.NormalizationTests.AssertThrows(() => D.Scale(g, float.PositiveInfinity), "factor");
        D.Synchronize();
    }
}
