using System;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Training;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// What the backward promises besides its values: gradients accumulate over calls and scale with gradientScale, a
/// training pass leaves the model's inference untouched (same logits, still allocation-free), backward steps refuse a
/// forward pass, and key/value heads shared by several devices train as on one device.
/// TrainingLeavesInferenceAsItWas measures allocation over the whole process: nothing else may run meanwhile.
/// </summary>
[Collection(nameof(Runtime.AllocationMeasurements))]
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
    [InlineData("TinyLlama tied, q/k/v biases", 4)]
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
    public void SharedKeyValueHeadsTrainAsOnOneDeviceAndTheirCopiesAgree()
    {
        // TinyLlama: 12 query heads share 2 key/value heads; on 4 devices each KV head is on 2 of them.
        using var one = DeviceMesh.CreateCpu(1);
        using var four = DeviceMesh.CreateCpu(4);
        var (single, ids, targets) = Make(one, "TinyLlama tied, q/k/v biases", 11, 7);
        var (sharded, _, _) = Make(four, "TinyLlama tied, q/k/v biases", 11, 7);
        using var a = single;
        using var b = sharded;
        for (int pass = 0; pass < 2; pass++)   // the second pass adds to what the first left in the twins
        {
            double expected = a.ForwardBackward(ids, targets, new[] { 6, 5 });
            double loss = b.ForwardBackward(ids, targets, new[] { 6, 5 });
            Assert.True(Math.Abs(loss - expected) <= 1e-5 * expected, $"loss {loss:R} on 4 devices vs {expected:R} on 1");
        }
        var reference = Flat(a);
        Assert.True(GradientGather.RelativeError(Flat(b), reference) < 1e-5, "4 devices' gradients are 1 device's");

        // Every copy of a replicated slice (the shared k/v columns among them) holds the same bits.
        int copies = 0;
        foreach (var group in b.Training.Gradients.GroupBy(s => (s.Key, s.Row0, s.Col0, s.Rows, s.Cols)).Where(g => g.Count() > 1))
        {
            var first = Read(group.First());
            foreach (var copy in group.Skip(1))
            {
                Assert.True(first.SequenceEqual(Read(copy)), $"gradient of {copy.Key} on rank {copy.Rank} differs from rank {group.First().Rank}'s");
                if (copy.Key.Role is WeightRole.Key or WeightRole.Value or WeightRole.KeyBias or WeightRole.ValueBias) copies++;
            }
        }
        Assert.Equal(2 * 2 * 4, copies); // 2 blocks × (k, v, their biases) × 2 KV heads' second copies
    }

    private static float[] Read(ParameterSlice slice)
    {
        var host = new float[slice.Rows * slice.Cols];
        slice.Download(host);
        return host;
    }
}
