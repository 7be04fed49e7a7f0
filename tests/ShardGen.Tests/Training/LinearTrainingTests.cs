using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// A float model's <c>Training</c>: two steps of zero → Backward → clip → SGD or AdamW (torch's defaults) on the
/// devices, against the same rules applied in double to the logical tensors on the host (the gradients read with
/// Gradients(layer), the norm over every weight and bias once). Megatron MLP at P = 1, 2, 4 (a row-parallel bias
/// replicated on every device), SUMMA on 2×2, and column → SUMMA → row on 2×2 (the grid mixed with 1D layers).
/// </summary>
public sealed class LinearTrainingTests
{
    private const double MaxNorm = 0.5;

    [Theory]
    [InlineData(1, false, 11)]
    [InlineData(2, false, 12)]
    [InlineData(4, false, 13)]
    [InlineData(1, true, 14)]
    [InlineData(2, true, 15)]
    [InlineData(4, true, 16)]
    public void MegatronMlp(int devices, bool adamW, int seed)
    {
        var w = Models.Mlp.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.Mlp.Create(mesh, w);
        Check(Models.Mlp.LayerSpecs, new[] { w.Up!, w.Down! }, model.Backward, model.Gradients, model.Training, adamW, seed);
    }

    [Theory]
    [InlineData(false, 21)]
    [InlineData(true, 22)]
    public void SummaOnTwoByTwo(bool adamW, int seed)
    {
        var w = Models.Summa.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = Models.Summa.Create(mesh, w);
        Check(Models.Summa.LayerSpecs, new[] { w.Layer! }, model.Backward, model.Gradients, model.Training, adamW, seed);
    }

    [Theory]
    [InlineData(false, 31)]
    [InlineData(true, 32)]
    public void ColumnGridRowOnTwoByTwo(bool adamW, int seed)
    {
        var w = Models.Mixed.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = Models.Mixed.Create(mesh, w);
        Check(Models.Mixed.LayerSpecs, new[] { w.Up!, w.Mid!, w.Down! }, model.Backward, model.Gradients, model.Training, adamW, seed);
    }

    /// <summary>Slice i of the gradients is the twin of slice i of the parameters; the row-parallel bias has one whole slice per device.</summary>
    [Fact]
    public void GradientSlicesLineUpWithParameterSlices()
    {
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(3));
        var training = model.Training;
        Assert.Equal(training.Parameters.Count, training.Gradients.Count);
        Assert.Equal(16, training.Parameters.Count);   // 2 layers × 4 devices × (weight, bias)
        for (int i = 0; i < training.Parameters.Count; i++)
        {
            var (p, g) = (training.Parameters[i], training.Gradients[i]);
            Assert.True(p.SameRegion(g) && p.Rank == g.Rank, $"slice {i}: {p} vs {g}");
            Assert.NotSame(p.Value.Buffer, g.Value.Buffer);
        }
        var downBias = training.Parameters.Where(s => s.Key == new WeightKey(1, -1, WeightRole.LinearBias)).ToArray();
        Assert.Equal(4, downBias.Length);
        Assert.All(downBias, s => Assert.Equal((0, 0, 1, 64), (s.Row0, s.Col0, s.Rows, s.Cols)));
    }

    [Fact]
    public void SaveRefusesAFloatModel()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(4));
        var e = Assert.Throws<NotSupportedException>(() => model.Training.Save("/nonexistent/never-written"));
        Assert.Contains("Mlp", e.Message);
        Assert.Contains("no checkpoint layout", e.Message);
    }

    private static void Check(IReadOnlyList<LayerSpec> specs, LinearWeights[] initial, Func<float[,], float[,], float[,]> backward,
        Func<int, LinearWeights> gradients, ModelTraining training, bool adamW, int seed)
    {
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
        // Host state: weight and bias of each layer as flat doubles, in the declared layout.
        var w = new List<double[]>();
        foreach (var l in initial)
        {
            w.Add(l.Weight.Cast<float>().Select(v => (double)v).ToArray());
            if (l.Bias is { } b) w.Add(b.Select(v => (double)v).ToArray());
        }
        var m = w.Select(t => new double[t.Length]).ToList();
        var v = w.Select(t => new double[t.Length]).ToList();
        using Optimizer optimizer = adamW ? new AdamW(lr) : new Sgd(lr);
        var rng = new Random(seed);
        for (int t = 1; t <= 2; t++)
        {
            training.ZeroGradients();
            int tokens = rng.Next(3, 9);
            backward(ReferenceMath.RandomMatrix(rng, tokens, specs[0].InFeatures), ReferenceMath.RandomMatrix(rng, tokens, specs[^1].OutFeatures));
            var g = new List<double[]>();
            for (int i = 0; i < specs.Count; i++)
            {
                var gi = gradients(i);
                g.Add(gi.Weight.Cast<float>().Select(x => (double)x).ToArray());
                if (gi.Bias is { } b) g.Add(b.Select(x => (double)x).ToArray());
            }
            double norm = Math.Sqrt(g.Sum(a => a.Sum(x => x * x)));
            Assert.True(norm > MaxNorm, $"step {t}: norm {norm} does not exceed {MaxNorm}, so clipping is not tested");
            double deviceNorm = training.ClipGradients(MaxNorm);
            Assert.True(Math.Abs(deviceNorm - norm) <= 1e-5 * norm, $"step {t}: device norm {deviceNorm} vs host {norm}");
            optimizer.Step(training);
            double factor = MaxNorm / (norm + 1e-6);
            for (int k = 0; k < w.Count; k++)
                for (int i = 0; i < w[k].Length; i++)
                {
                    double gi = (double)(float)(g[k][i] * factor);
                    if (!adamW)
                    {
                        w[k][i] -= lr * gi;
                        continue;
                    }
                    // torch.optim.AdamW (amsgrad off): decay, moments, bias-corrected step.
                    w[k][i] *= 1 - lr * wd;
                    m[k][i] = b1 * m[k][i] + (1 - b1) * gi;
                    v[k][i] = b2 * v[k][i] + (1 - b2) * gi * gi;
                    double denominator = Math.Sqrt(v[k][i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                    w[k][i] -= lr / (1 - Math.Pow(b1, t)) * m[k][i] / denominator;
                }
        }
        // The devices' weights, each region read from every replica (which must agree), in the same order as w.
        var actual = LogicalTensors.Read(training.Parameters);
        var keys = actual.Keys.OrderBy(k => k.Layer).ThenBy(k => k.Role).ToArray();
        Assert.Equal(w.Count, keys.Length);
        for (int k = 0; k < w.Count; k++)
            for (int i = 0; i < w[k].Length; i++)
                Assert.True(Math.Abs(actual[keys[k]][i] - w[k][i]) <= 1e-5 * (1 + Math.Abs(w[k][i])),
                    $"{keys[k]}[{i}] after two {(adamW ? "AdamW" : "SGD")} steps: {actual[keys[k]][i]} vs {w[k][i]}");
    }
}
