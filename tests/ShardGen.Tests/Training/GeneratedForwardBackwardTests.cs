using System;
using System.IO;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Runtime;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The generated ForwardBackward of the test models: the same loss and gradients, bit for bit, as the training
/// contract's call sequence written by hand (<see cref="BackwardDriver"/>, itself checked against PyTorch), the same
/// against PyTorch autograd directly for the README classes, and exactly the collective traffic its plan predicts
/// (the forward's plus the backward's, <see cref="ModelPlan.PredictedBackwardTotalBytes(int)"/>).
/// </summary>
public sealed class GeneratedForwardBackwardTests
{
    public static TheoryData<string, int> Models() => new()
    {
        { nameof(TinyLlama), 1 }, { nameof(TinyLlama), 2 }, { nameof(TinyLlama), 4 }, // 4: its 2 KV heads on 2 devices each
        { nameof(TinyGpt2), 2 }, { nameof(TinyGpt2), 4 },
        { nameof(TinyLlamaSequenceParallel), 2 }, { nameof(TinyLlamaSequenceParallel), 4 },
        { nameof(TinyGpt2SequenceParallel), 2 }, { nameof(TinyGpt2SequenceParallel), 4 },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void GeneratedForwardBackwardEqualsTheContractsCallSequence(string name, int devices)
    {
        var random = new Random(name.Length * 31 + devices);
        var (ids, targets, lengths) = Batch(random);
        int seed = random.Next();
        using var meshA = DeviceMesh.CreateCpu(devices);
        using var meshB = DeviceMesh.CreateCpu(devices);
        using var generated = Create(name, meshA, seed);
        using var byHand = Create(name, meshB, seed);

        double loss = generated.ForwardBackward(ids, targets, lengths);
        double expected = BackwardDriver.ForwardBackward(byHand.Training.Core, ids, targets, lengths);
        Assert.Equal(expected, loss);
        Assert.True(loss > 0 && double.IsFinite(loss), $"{name}: loss {loss}");

        var a = generated.Training.Gradients;
        var b = byHand.Training.Gradients;
        Assert.Equal(b.Count, a.Count);
        int nonZero = 0;
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal((b[i].Key, b[i].Rank, b[i].Row0, b[i].Col0), (a[i].Key, a[i].Rank, a[i].Row0, a[i].Col0));
            float[] x = Read(a[i]), y = Read(b[i]);
            Assert.True(x.SequenceEqual(y), $"{name} on {devices}: gradient of {a[i].Key} (rank {a[i].Rank}) differs from the contract's sequence");
            if (x.Any(v => v != 0)) nonZero++;
        }
        Assert.True(nonZero > a.Count / 2, $"{name}: only {nonZero} of {a.Count} gradient slices are non-zero");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void MeasuredTrafficOfForwardBackwardIsThePlans(string name, int devices)
    {
        var random = new Random(name.Length * 17 + devices);
        var (ids, targets, lengths) = Batch(random);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Create(name, mesh, random.Next());
        model.ForwardBackward(ids, targets, lengths);
        var core = model.Training.Core;
        var measured = Assert.IsType<TrafficReport>(core.LastForward);
        var plan = core.Plan;
        int t = ids.Length;
        Assert.True(plan.HasBackward);
        Assert.Equal(plan.PredictedTotalBytes(t) + plan.PredictedBackwardTotalBytes(t), measured.TotalBytesSent);
        foreach (var kind in new[] { CollectiveKind.AllReduce, CollectiveKind.AllGather, CollectiveKind.ReduceScatter })
            Assert.Equal(plan.PredictedCalls(kind) + plan.PredictedBackwardCalls(kind), measured.Count(kind));
        if (devices > 1) Assert.True(plan.PredictedBackwardTotalBytes(t) > 0);

        // The forward alone still measures the forward's figure: the backward's bytes are the difference.
        model.Forward(ids, null);
        Assert.Equal(plan.PredictedTotalBytes(t), core.LastForward!.TotalBytesSent);
    }

    /// <summary>The README's classes loaded from a PyTorch checkpoint: the generated ForwardBackward's gradients against autograd (float64).</summary>
    [TorchTheory]
    [InlineData("llama", 2, 2, 41)]
    [InlineData("gpt2", 4, 4, 42)]
    public void GeneratedForwardBackwardMatchesPyTorch(string family, int kvHeads, int devices, int seed)
    {
        string dir = TrainReference.TemporaryFolder();
        try
        {
            var (checkpoint, data) = BackwardTorchTests.Setup(dir, family, kvHeads, seed);
            var random = new Random(seed);
            int batch = random.Next(2, 4), seq = random.Next(5, 10), step = random.Next(0, 10);
            string output = Path.Combine(dir, "grads");
            TrainReference.Run("grads", checkpoint, "--data", data, "--batch", $"{batch}", "--seq", $"{seq}", "--step", $"{step}", "--out", output);
            double expectedLoss = Npy.Read(Path.Combine(output, "loss.npy")).Data[0];
            var expected = TrainReference.ReadFolder(Path.Combine(output, "grads"));

            using var mesh = DeviceMesh.CreateCpu(devices);
            using ITrainableLanguageModel model = family == "gpt2" ? Gpt2.Load(mesh, checkpoint) : Llama.Load(mesh, checkpoint);
            var (inputs, targets) = BackwardTorchTests.Batch(data, batch, seq, step);
            double loss = model.ForwardBackward(inputs, targets, Enumerable.Repeat(seq, batch).ToArray()) / inputs.Length;
            Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * expectedLoss, $"loss {loss:R} vs PyTorch {expectedLoss:R}");
            var specs = family == "gpt2" ? Gpt2.LayerSpecs : Llama.LayerSpecs;
            var (actual, _) = GradientGather.ByName(model.Training, checkpoint, specs);
            BackwardTorchTests.AssertGradients(actual, expected, $"generated {family} on {devices}");
        }
        finally { Directory.Delete(dir, true); }
    }

    private static (int[] Ids, int[] Targets, int[] Lengths) Batch(Random random)
    {
        int first = random.Next(3, 9), second = random.Next(3, 9);
        int[] ids = Enumerable.Range(0, first + second).Select(_ => random.Next(1003)).ToArray();
        int[] targets = Enumerable.Range(0, ids.Length).Select(_ => random.Next(1003)).ToArray();
        return (ids, targets, new[] { first, second });
    }

    /// <summary>A test model with random weights from <paramref name="seed"/>.</summary>
    private static ITrainableLanguageModel Create(string name, DeviceMesh mesh, int seed) => name switch
    {
        nameof(TinyLlama) => TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), seed)),
        nameof(TinyGpt2) => TinyGpt2.Create(mesh, LanguageModelReference.RandomWeights(TinyGpt2.PlanFor(1), seed)),
        nameof(TinyLlamaSequenceParallel) =>
            TinyLlamaSequenceParallel.Create(mesh, LanguageModelReference.RandomWeights(TinyLlamaSequenceParallel.PlanFor(1), seed)),
        _ => TinyGpt2SequenceParallel.Create(mesh, LanguageModelReference.RandomWeights(TinyGpt2SequenceParallel.PlanFor(1), seed)),
    };

    private static float[] Read(ParameterSlice slice)
    {
        var host = new float[slice.Rows * slice.Cols];
        slice.Download(host);
        return host;
    }
}
