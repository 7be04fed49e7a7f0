using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// Optimizers, the global gradient norm and clipping on real sharded models (random checkpoints whose vocabulary and
/// FFN sizes divide no device count), with gradients written here: every parameter slice against the update rule
/// computed in double over the whole logical tensors; the norm against the norm of those tensors, each counted once.
/// </summary>
public sealed class OptimizerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-optim-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    internal static ILanguageModel LoadModel(string root, ModelFamily family, int devices, DeviceMesh mesh, int seed, bool? tied = null, string? modelType = null)
    {
        string dir = Path.Combine(root, $"{family}-{seed}-{tied}-{modelType}");
        if (!Directory.Exists(dir))
            RandomCheckpoint.Write(dir, new RandomCheckpointSpec(family, Vocab: 103, Hidden: 24, Heads: 4, KvHeads: family == ModelFamily.Gpt2 ? 4 : 2, FfnHidden: 44, Layers: 2)
            { Seed = seed, Positions = 32, Tied = tied, ModelType = modelType });
        return family == ModelFamily.Llama ? Llama.Load(mesh, dir) : Gpt2.Load(mesh, dir);
    }

    [Theory]
    [InlineData(ModelFamily.Llama, 1)]
    [InlineData(ModelFamily.Llama, 2)]
    [InlineData(ModelFamily.Llama, 4)]
    [InlineData(ModelFamily.Gpt2, 2)]
    [InlineData(ModelFamily.Gpt2, 4)]
    public void GradientNorm_CountsEachRegionOnce_ReplicasIncluded(ModelFamily family, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = LoadModel(_root, family, devices, mesh, seed: devices);
        var training = LogicalTensors.TrainingOf(model);
        var g = LogicalTensors.Random(training.Gradients, seed: 10 + devices, scale: 0.3);
        LogicalTensors.Write(training.Gradients, g);

        double expected = Math.Sqrt(g.Values.Sum(t => t.Sum(x => x * x)));
        double norm = training.GradientNorm();
        Assert.True(Math.Abs(norm - expected) <= 1e-6 * expected, $"norm {norm:R}, expected {expected:R}");
        // Replicated slices exist on more than one device, so counting every slice would be wrong.
        double everySlice = Math.Sqrt(training.Gradients.Sum(s => Region(g, training.Gradients, s).Sum(x => x * x)));
        if (devices > 1) Assert.True(everySlice > expected * 1.0001, $"every slice {everySlice}, logical {expected}: no replicated slice?");
    }

    [Theory]
    [InlineData(ModelFamily.Llama, 2, 0.5)]
    [InlineData(ModelFamily.Gpt2, 4, 0.5)]
    [InlineData(ModelFamily.Llama, 4, 1e6)]
    public void ClipGradients_IsTorchsClipGradNorm(ModelFamily family, int devices, double maxNorm)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = LoadModel(_root, family, devices, mesh, seed: 3);
        var training = LogicalTensors.TrainingOf(model);
        var g = LogicalTensors.Random(training.Gradients, seed: 20, scale: 0.1);
        LogicalTensors.Write(training.Gradients, g);

        double norm = Math.Sqrt(g.Values.Sum(t => t.Sum(x => x * x)));
        double returned = training.ClipGradients(maxNorm);
        Assert.True(Math.Abs(returned - norm) <= 1e-6 * norm);
        double factor = Math.Min(1, maxNorm / (norm + 1e-6));
        var clipped = LogicalTensors.Read(training.Gradients);   // every replica scaled alike
        foreach (var (key, t) in g)
            for (int i = 0; i < t.Length; i++)
                Assert.True(Math.Abs(clipped[key][i] - t[i] * factor) <= 1e-6 * Math.Abs(t[i]) + 1e-12, $"{key}[{i}]: {clipped[key][i]} vs {t[i] * factor}");
        if (factor < 1) Assert.True(Math.Abs(training.GradientNorm() - maxNorm) <= 1e-5 * maxNorm);
    }

    [Fact]
    public void ZeroGradients_ClearsEverySlice_EvenNaN()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = LoadModel(_root, ModelFamily.Llama, 2, mesh, seed: 4);
        var training = LogicalTensors.TrainingOf(model);
        var g = LogicalTensors.Random(training.Gradients, seed: 5, scale: 1);
        g.Values.First()[0] = double.NaN;
        LogicalTensors.Write(training.Gradients, g);
        training.ZeroGradients();
        foreach (var s in training.Gradients)
        {
            var host = new float[s.Rows * s.Cols];
            s.Download(host);
            Assert.All(host, x => Assert.Equal(0f, x));
        }
        Assert.Equal(0, training.GradientNorm());
    }

    [Theory]
    [InlineData(ModelFamily.Llama, 1)]
    [InlineData(ModelFamily.Llama, 4)]
    [InlineData(ModelFamily.Gpt2, 2)]
    public void Sgd_IsWMinusLrG_OnEverySlice(ModelFamily family, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = LoadModel(_root, family, devices, mesh, seed: 6, tied: family == ModelFamily.Llama ? true : null);
        var training = LogicalTensors.TrainingOf(model);
        var w0 = LogicalTensors.Read(training.Parameters);
        var g = LogicalTensors.Random(training.Gradients, seed: 7, scale: 1);
        LogicalTensors.Write(training.Gradients, g);
        using var sgd = new Sgd(0.05);
        sgd.Step(training);
        Assert.Equal(1, sgd.Steps);
        var w1 = LogicalTensors.Read(training.Parameters);
        foreach (var (key, t) in w0)
            for (int i = 0; i < t.Length; i++)
            {
                double expected = t[i] - 0.05 * g[key][i];
                Assert.True(Math.Abs(w1[key][i] - expected) <= 1e-6 * (Math.Abs(t[i]) + Math.Abs(0.05 * g[key][i])), $"{key}[{i}]: {w1[key][i]} vs {expected}");
            }
    }

    [Theory]
    [InlineData(ModelFamily.Llama, 2)]
    [InlineData(ModelFamily.Gpt2, 4)]
    public void AdamW_ThreeSteps_AreTorchsRuleInDouble(ModelFamily family, int devices)
    {
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = LoadModel(_root, family, devices, mesh, seed: 8);
        var training = LogicalTensors.TrainingOf(model);
        var w = LogicalTensors.Read(training.Parameters);
        var m = w.ToDictionary(p => p.Key, p => new double[p.Value.Length]);
        var v = w.ToDictionary(p => p.Key, p => new double[p.Value.Length]);
        using var adamw = new AdamW(lr);
        Assert.Equal((0.9, 0.999, 1e-8, 0.01), (adamw.Beta1, adamw.Beta2, adamw.Epsilon, adamw.WeightDecay));   // torch's defaults
        for (int t = 1; t <= 3; t++)
        {
            var g = LogicalTensors.Random(training.Gradients, seed: 30 + t, scale: 0.5);
            LogicalTensors.Write(training.Gradients, g);
            adamw.Step(training);
            foreach (var key in w.Keys)
                for (int i = 0; i < w[key].Length; i++)
                {
                    // torch.optim.AdamW (amsgrad off): decay, moments, bias-corrected step.
                    w[key][i] *= 1 - lr * wd;
                    m[key][i] = b1 * m[key][i] + (1 - b1) * g[key][i];
                    v[key][i] = b2 * v[key][i] + (1 - b2) * g[key][i] * g[key][i];
                    double denominator = Math.Sqrt(v[key][i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps;
                    w[key][i] -= lr / (1 - Math.Pow(b1, t)) * m[key][i] / denominator;
                }
        }
        Assert.Equal(3, adamw.Steps);
        var actual = LogicalTensors.Read(training.Parameters);
        foreach (var (key, expected) in w)
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(actual[key][i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"{key}[{i}]: {actual[key][i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1e-3)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e-50)]   // rounds to 0 in float32
    public void LearningRate_MustBePositiveAndFinite(double lr)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(lr));
        Assert.Contains("must be a positive, finite number", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(lr));
    }

    [Theory]
    [InlineData(1.0, 0.999, 1e-8, 0.01, "beta1")]
    [InlineData(0.9, -0.1, 1e-8, 0.01, "beta2")]
    [InlineData(0.9, 0.999, double.NaN, 0.01, "epsilon")]
    [InlineData(0.9, 0.999, 1e-8, -1, "weightDecay")]
    public void AdamW_RefusesBadHyperparameters(double b1, double b2, double eps, double wd, string name)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW(1e-3, b1, b2, eps, wd));
        Assert.Equal(name, e.ParamName);
    }

    private static IEnumerable<double> Region(Dictionary<WeightKey, double[]> tensors, IReadOnlyList<ParameterSlice> all, ParameterSlice s)
    {
        int cols = LogicalTensors.Shapes(all)[s.Key].Cols;
        for (int r = 0; r < s.Rows; r++)
            for (int c = 0; c < s.Cols; c++)
                yield return tensors[s.Key][(s.Row0 + r) * cols + s.Col0 + c];
    }
}
