using System;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// What the backward promises besides its values: gradients accumulate over calls and scale with gradientScale, a
/// training pass leaves the model's inference untouched (same logits, still allocation-free), backward steps refuse a
/// forward pass, and key/value heads shared by several devices are refused before anything changes.
/// </summary>
public sealed class BackwardBehaviourTests
{
    private static (ITrainableLanguageModel Model, int[] Ids, int[] Targets) Make(DeviceMesh mesh, string variant, int tokens, int seed)
    {
        var layers = TrainableModels.Layers(variant);
        var weights = LanguageModelReference.RandomWeights(ModelPlan.Create("B", layers, 1), seed);
        var model = TrainableModels.Create(mesh, variant.StartsWith("TinyGpt2", StringComparison.Ordinal), false, weights, layers);
        var rng = new Random(seed);
        return (model, Enumerable.Range(0, tokens).Select(_ => rng.Next(model.Vocab)).ToArray(), Enumerable.Range(0, tokens).Select(_ => rng.Next(model.Vocab)).ToArray());
    }

    private static double[] Flat(ITrainableLanguageModel model) =>
        TrainableModels.Logical(model.Training).OrderBy(p => p.Key.ToString()).SelectMany(p => p.Value.Cast<double>()).ToArray();

    [Theory]
    [InlineData("TinyGpt2", 2)]
    [InlineData("TinyLlama tied, q/k/v biases", 2)]
    public void GradientsAccumulateAndFollowTheScale(string variant, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        var (model, ids, targets) = Make(mesh, variant, 9, 3);
        using var _ = model;
        double first = model.ForwardBackward(ids, targets);
        var once = Flat(model);
        Assert.Contains(once, g => g != 0);
        double second = model.ForwardBackward(ids, targets);
        Assert.Equal(first, second);
        var twice = Flat(model);
        Assert.True(GradientGather.RelativeError(twice, once.Select(g => 2 * g).ToArray()) < 1e-6, "a second call adds the same gradient");

        // gradientScale 1: the gradient of Σ_t loss_t, i.e. tokens × the mean's (added to the 2× already there).
        model.ForwardBackward(ids, targets, null, 1f);
        var summed = Flat(model);
        var expected = once.Select(g => (2 + ids.Length) * g).ToArray();
        Assert.True(GradientGather.RelativeError(summed, expected) < 1e-5, "gradientScale 1 is the sum's gradient");
    }

    [Fact]
    public void TrainingLeavesInferenceAsItWas()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var (model, ids, targets) = Make(mesh, "TinyGpt2", 8, 5);
        using var _ = model;
        var before = model.Forward(ids, null);
        long baseline = Allocation.PerForward(() => model.Forward(ids, null), warmUp: 10, runs: 20, rounds: 3);
        model.ForwardBackward(ids, targets, new[] { 5, 3 });
        Assert.Equal(before, model.Forward(ids, null));
        long bytes = Allocation.PerForward(() => model.Forward(ids, null), warmUp: 10, runs: 20, rounds: 3);
        // The steady-state allocation tests allow 1 KiB beyond the logits; after training a forward allocates what it did before.
        Assert.True(bytes <= baseline + 64 && bytes <= Allocation.FloatMatrixBytes(ids.Length, model.Vocab) + 1024,
            $"a forward allocates {bytes} B after training, {baseline} B before (logits {Allocation.FloatMatrixBytes(ids.Length, model.Vocab)} B)");
    }

    [Fact]
    public void BackwardStepsNeedATrainingPass()
    {
        using var mesh = DeviceMesh.CreateCpu(1);
        var weights = LanguageModelReference.RandomWeights(ModelPlan.Create("B", TinyGpt2.LayerSpecs.ToArray(), 1), 1);
        using var model = TinyGpt2.Create(mesh, weights);
        var core = model.Training.Core;
        using (var pass = core.BeginForward(new[] { 1, 2, 3 }, null, null))
        {
            var logits = pass.LmHead(pass.FinalNorm(pass.AllReduce(pass.TokenEmbedding(core.Embedding(0))), core.Norm(3)), core.Linear(4));
            var e = Assert.Throws<InvalidOperationException>(() => pass.CrossEntropy(logits));
            Assert.Contains("BeginTraining", e.Message);
        }
        // The pass ended cleanly: the model still runs.
        Assert.Equal(3, model.Forward(new[] { 1, 2, 3 }).GetLength(0));
    }

    [Fact]
    public void SharedKeyValueHeadsAreRefusedWithTheDeviceCountsThatWork()
    {
        using var mesh = DeviceMesh.CreateCpu(4);
        var weights = LanguageModelReference.RandomWeights(ModelPlan.Create("B", TinyLlama.LayerSpecs.ToArray(), 1), 1);
        using var model = TinyLlama.Create(mesh, weights);
        long before = mesh.Devices.Sum(d => d.AllocatedBytes);
        var e = Assert.Throws<ShardingException>(() => model.ForwardBackward(new[] { 1, 2, 3 }, new[] { 2, 3, 4 }));
        Assert.Contains("12 attention heads share 2 key/value heads", e.Message);
        Assert.Contains("P = 1, 2", e.Message);
        Assert.Equal(before, mesh.Devices.Sum(d => d.AllocatedBytes)); // no gradient twins were made
        Assert.Equal(3, model.Forward(new[] { 1, 2, 3 }).GetLength(0));   // nor a pass left open
    }
}
