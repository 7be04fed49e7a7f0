using System;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Tests.Reference;
using static ShardGen.Tests.Backend.Reference;
using static ShardGen.Tests.Training.TrainingReference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>The ILGPU training kernels against double references (finite differences and closed forms); small sizes.</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class TrainingKernelTests
{
    private static Device Dev => IlgpuMeshes.Cpu(1).Devices[0];

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    public void ActivationBackward_matches_finite_differences(Activation act)
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 3, cols = 11;
        var z = RoundToFloat(Random(rng, rows * cols).Select(v => 4 * v).ToArray());
        if (act == Activation.Relu) z = z.Select(v => Math.Abs(v) < 1e-3 ? 0.5 : v).ToArray();
        var dy = RoundToFloat(Random(rng, rows * cols));
        var fd = FiniteDifferences(v => v.Select(e => ReferenceMath.Apply(act, e)).ToArray(), z, dy);
        var dz = Alloc(d, rows, cols, stride: cols + 2);
        d.ActivationBackward(Upload(d, z, rows, cols), Upload(d, dy, rows, cols, stride: cols + 1), dz, act);
        AssertClose(Download(dz), fd, 1e-5, $"{act}");
    }

    [Fact]
    public void GatedActivationBackward_matches_finite_differences()
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 3, n = 5;
        var gu = RoundToFloat(Random(rng, rows * 2 * n).Select(v => 3 * v).ToArray());
        var dOut = RoundToFloat(Random(rng, rows * n));
        var fd = FiniteDifferences(v => Gated(v, rows, n, Activation.Silu), gu, dOut);
        var dgu = Alloc(d, rows, 2 * n);
        d.GatedActivationBackward(Upload(d, gu, rows, 2 * n), Upload(d, dOut, rows, n), dgu, Activation.Silu);
        AssertClose(Download(dgu), fd, 1e-5, "SwiGLU backward");
    }

    [Fact]
    public void RotaryBackward_undoes_the_forward_and_matches_finite_differences()
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 4, heads = 2, headDim = 6, cols = heads * headDim + 3;
        var positions = new[] { 0, 5, 1001, 7 };
        var x = RoundToFloat(Random(rng, rows * cols));
        var dy = RoundToFloat(Random(rng, rows * cols));
        var fd = FiniteDifferences(v => Rotary(v, rows, cols, heads, headDim, positions, 1e4f, floatAngles: true), x, dy);
        var dv = Upload(d, dy, rows, cols, stride: cols + 1);
        d.RotaryBackward(dv, heads, headDim, positions, 1e4f);
        AssertClose(Download(dv), fd, 1e-6, "RotaryBackward");
        var xv = Upload(d, x, rows, cols);
        d.Rotary(xv, heads, headDim, positions, 1e4f);
        d.RotaryBackward(xv, heads, headDim, positions, 1e4f);
        AssertClose(Download(xv), x, 1e-6, "backward ∘ forward");
    }

    [Fact]
    public void Optimizers_match_the_double_references()
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 3, cols = 5;
        var w0 = RoundToFloat(Random(rng, rows * cols));
        var grads = Enumerable.Range(0, 3).Select(_ => RoundToFloat(Random(rng, rows * cols))).ToArray();
        var w = Upload(d, w0, rows, cols, stride: cols + 1);
        var m = Alloc(d, rows, cols);
        var v = Alloc(d, rows, cols);
        double[] rw = (double[])w0.Clone(), rm = new double[w0.Length], rv = new double[w0.Length];
        double lr = 1e-2f, wd = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        for (int t = 1; t <= grads.Length; t++)
        {
            d.AdamWStep(w, Upload(d, grads[t - 1], rows, cols), m, v, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, t);
            for (int i = 0; i < rw.Length; i++)
            {
                double g = grads[t - 1][i];
                rw[i] *= 1 - lr * wd;
                rm[i] = b1 * rm[i] + (1 - b1) * g;
                rv[i] = b2 * rv[i] + (1 - b2) * g * g;
                rw[i] -= lr / (1 - Math.Pow(b1, t)) * rm[i] / (Math.Sqrt(rv[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps);
            }
        }
        AssertClose(Download(w), rw, 1e-6, "AdamW w");
        AssertClose(Download(v), rv, 1e-6, "AdamW v");
        var g0 = grads[0];
        d.SgdStep(w, Upload(d, g0, rows, cols), 0.5f);
        AssertClose(Download(w), rw.Select((x, i) => x - 0.5 * g0[i]).ToArray(), 1e-6, "SGD");
        d.Scale(w, 0.25f);
        AssertClose(Download(w), rw.Select((x, i) => 0.25 * (x - 0.5 * g0[i])).ToArray(), 1e-6, "Scale");
    }

    [Fact]
    public void Kernels_not_on_ILGPU_yet_check_then_refuse_clearly()
    {
        var d = Dev;
        var x = Alloc(d, 2, 4);
        Assert.Throws<ArgumentException>(() => d.BiasGradient(x, Alloc(d, 1, 3)));
        var e = Assert.Throws<NotSupportedException>(() => d.BiasGradient(x, Alloc(d, 1, 4)));
        Assert.Contains("CPU backend", e.Message);
        Assert.Throws<NotSupportedException>(() => d.ScatterAddRows([0, 1], 0, x, Alloc(d, 3, 4)));
        d.Synchronize();
    }
}
