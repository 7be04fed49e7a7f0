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

    [Theory]
    [InlineData(2, 2, 4, false, new[] { 0, 5 })]
    [InlineData(4, 2, 4, true, new[] { 0, 6, 9 })]
    [InlineData(3, 1, 2, true, new[] { 0, 2, 7 })]
    public void AttentionBackward_matches_finite_differences(int heads, int kvHeads, int headDim, bool causal, int[] starts)
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        var shape = new AttentionShape(heads, kvHeads, headDim, causal, starts);
        int t = shape.Tokens;
        var qkv = RoundToFloat(Random(rng, t * shape.FusedWidth).Select(v => 2 * v).ToArray());
        var dOut = RoundToFloat(Random(rng, t * shape.OutputWidth));
        var fd = FiniteDifferences(v => Attention(v, shape), qkv, dOut);
        var dq = Upload(d, Random(rng, t * (shape.FusedWidth + 2)), t, shape.FusedWidth, stride: shape.FusedWidth + 2);
        d.AttentionBackward(Upload(d, qkv, t, shape.FusedWidth), Upload(d, dOut, t, shape.OutputWidth, stride: shape.OutputWidth + 1), dq, shape);
        AssertClose(Download(dq), fd, 1e-4, "dQkv vs finite differences");
        AssertClose(Download(dq), AttentionBackward(qkv, dOut, shape), 1e-4, "dQkv vs analytic");
        Assert.Throws<ArgumentException>(() => d.AttentionBackward(Upload(d, qkv, t, shape.FusedWidth), Alloc(d, t, shape.OutputWidth), Alloc(d, t, shape.FusedWidth - 1), shape));
    }

    [Theory]
    [InlineData(NormKind.LayerNorm)]
    [InlineData(NormKind.RmsNorm)]
    public void NormalizeBackward_matches_finite_differences_and_accumulates(NormKind kind)
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 4, cols = 9;
        double eps = 1e-5;
        var x = RoundToFloat(Random(rng, rows * cols).Select(v => 2 * v + 0.5).ToArray());
        var dy = RoundToFloat(Random(rng, rows * cols));
        var gamma = RoundToFloat(Random(rng, cols));
        var beta = RoundToFloat(Random(rng, cols));
        var fdX = FiniteDifferences(v => Norm(v, rows, cols, kind, gamma, beta, eps), x, dy);
        var fdGamma = FiniteDifferences(g => Norm(x, rows, cols, kind, g, beta, eps), gamma, dy);
        var start = RoundToFloat(Random(rng, cols));
        var dg = Upload(d, start, 1, cols);
        var db = Upload(d, start, 1, cols);
        var dyv = Upload(d, dy, rows, cols, stride: cols + 1);
        // dx written over dy.
        d.NormalizeBackward(Upload(d, x, rows, cols), dyv, kind, Upload(d, gamma, 1, cols), (float)eps, dyv, dg, kind == NormKind.LayerNorm ? db : null);
        AssertClose(Download(dyv), fdX, 1e-4, "dx");
        AssertClose(Download(dg), fdGamma.Select((v, c) => v + start[c]).ToArray(), 1e-4, "dγ");
        if (kind == NormKind.LayerNorm)
        {
            var fdBeta = FiniteDifferences(b => Norm(x, rows, cols, kind, gamma, b, eps), beta, dy);
            AssertClose(Download(db), fdBeta.Select((v, c) => v + start[c]).ToArray(), 1e-4, "dβ");
        }
    }

    [Fact]
    public void Summing_kernels_match_the_double_references()
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 5, cols = 7;
        var dy = RoundToFloat(Random(rng, rows * cols));
        var start = RoundToFloat(Random(rng, cols));
        var db = Upload(d, start, 1, cols);
        d.BiasGradient(Upload(d, dy, rows, cols, stride: cols + 1), db);
        AssertClose(Download(db), Enumerable.Range(0, cols).Select(c => start[c] + Enumerable.Range(0, rows).Sum(r => dy[r * cols + c])).ToArray(), 1e-6, "dBias");

        int[] ids = [4, 2, 4, 9, 3, 4];
        var dOut = RoundToFloat(Random(rng, ids.Length * cols));
        var table = Alloc(d, 3, cols, stride: cols + 2);
        d.ScatterAddRows(ids, 2, Upload(d, dOut, ids.Length, cols), table);
        var expected = new double[3 * cols];
        for (int t = 0; t < ids.Length; t++)
            if (ids[t] - 2 is >= 0 and < 3)
                for (int c = 0; c < cols; c++) expected[(ids[t] - 2) * cols + c] += dOut[t * cols + c];
        AssertClose(Download(table), expected, 1e-6, "dTable");

        var result = Upload(d, [1.0], 1, 1);
        d.SumOfSquares(Upload(d, dy, rows, cols), result);
        Assert.True(Math.Abs(Download(result)[0] - (1 + dy.Sum(v => v * v))) < 1e-5);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Cross_entropy_pieces_over_uneven_shards_equal_the_unsharded_loss(int shards)
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 3, vocab = 103;
        var logits = RoundToFloat(Random(rng, rows * vocab).Select(v => 40 * v).ToArray());
        var targets = Enumerable.Range(0, rows).Select(_ => rng.Next(vocab)).ToArray();
        var (loss, grad) = CrossEntropy(logits, rows, vocab, targets);
        var first = new int[shards + 1];
        for (int s = 0; s < shards; s++) first[s + 1] = first[s] + vocab / shards + (s < vocab % shards ? 1 : 0);
        var views = new MatrixView[shards];
        var maxima = new double[rows * shards];
        var target = new double[rows];
        for (int s = 0; s < shards; s++)
        {
            int cols = first[s + 1] - first[s];
            var part = new double[rows * cols];
            for (int t = 0; t < rows; t++) Array.Copy(logits, t * vocab + first[s], part, t * cols, cols);
            views[s] = Upload(d, part, rows, cols);
            var mv = Alloc(d, rows, 1);
            var tv = Alloc(d, rows, 1);
            d.LogitStatistics(views[s], targets, first[s], mv, tv);
            var m = Download(mv);
            var l = Download(tv);
            for (int t = 0; t < rows; t++) { maxima[t * shards + s] = m[t]; target[t] += l[t]; }
        }
        var maxView = Upload(d, maxima, rows, shards);
        var sums = new double[rows];
        for (int s = 0; s < shards; s++)
        {
            var se = Alloc(d, rows, 1);
            d.LogitSumExp(views[s], maxView, se);
            var got = Download(se);
            for (int t = 0; t < rows; t++) sums[t] += got[t];
        }
        double mean = Enumerable.Range(0, rows).Sum(t => Math.Log(sums[t]) + Enumerable.Range(0, shards).Max(s => maxima[t * shards + s]) - target[t]) / rows;
        Assert.True(Math.Abs(mean - loss) <= 1e-5 * Math.Abs(loss), $"{mean} vs {loss}");
        var sumView = Upload(d, sums, rows, 1);
        var dLogits = new float[rows * vocab];
        for (int s = 0; s < shards; s++)
        {
            int cols = first[s + 1] - first[s];
            d.CrossEntropyGradient(views[s], targets, first[s], maxView, sumView, 1f / rows, views[s]); // in place
            var got = Download(views[s]);
            for (int t = 0; t < rows; t++) Array.Copy(got, t * cols, dLogits, t * vocab + first[s], cols);
        }
        AssertClose(dLogits, grad, 1e-5, "dLogits");
    }
}
