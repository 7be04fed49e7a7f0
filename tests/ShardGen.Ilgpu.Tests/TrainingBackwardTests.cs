using System;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Training;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// The generated ForwardBackward on ILGPU CPU-accelerator meshes (the training kernels, the collectives on strided
/// column views of the cross-entropy's maxima) against the same model on the CPU backend: the same loss and every
/// parameter's gradient within float32 rounding. The CPU backend's gradients are checked against PyTorch and finite
/// differences in ShardGen.Tests.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class TrainingBackwardTests
{
    [Theory]
    [InlineData("TinyGpt2", 3, false)]
    [InlineData("TinyLlama tied, q/k/v biases", 2, false)]
    [InlineData("TinyGpt2", 2, true)]
    public void Gradients_match_the_cpu_backend(string variant, int devices, bool sequenceParallel)
    {
        var layers = TrainableModels.Layers(variant);
        var weights = LanguageModelReference.RandomWeights(ModelPlan.Create("I", layers, 1), devices);
        bool gpt2 = variant.StartsWith("TinyGpt2", StringComparison.Ordinal);
        var rng = new Random(devices);
        var ids = Enumerable.Range(0, 7).Select(_ => rng.Next(1003)).ToArray();
        var targets = Enumerable.Range(0, 7).Select(_ => rng.Next(1003)).ToArray();
        int[] lengths = { 3, 4 };

        using var cpuMesh = DeviceMesh.CreateCpu(devices);
        using var cpu = TrainableModels.Create(cpuMesh, gpt2, sequenceParallel, weights, layers);
        double expectedLoss = cpu.ForwardBackward(ids, targets, lengths);
        var expected = TrainableModels.Logical(cpu.Training);

        using var model = TrainableModels.Create(IlgpuMeshes.Cpu(devices), gpt2, sequenceParallel, weights, layers);
        double loss = model.ForwardBackward(ids, targets, lengths);
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * expectedLoss, $"loss {loss:R} vs the CPU backend's {expectedLoss:R}");
        foreach (var (key, g) in TrainableModels.Logical(model.Training))
        {
            var e = expected[key];
            double diff = 0, norm = 0;
            for (int r = 0; r < g.GetLength(0); r++)
                for (int c = 0; c < g.GetLength(1); c++)
                {
                    diff += (g[r, c] - e[r, c]) * (g[r, c] - e[r, c]);
                    norm += e[r, c] * e[r, c];
                }
            // float32 sums in another order: ~1e-6 relative; a gradient zero in exact arithmetic (GPT-2's key bias) is noise on both.
            Assert.True(Math.Sqrt(diff) <= 1e-4 * Math.Max(Math.Sqrt(norm), 1e-3), $"{variant} on {devices}: {key} differs by {Math.Sqrt(diff):E2} (‖g‖ = {Math.Sqrt(norm):E2})");
        }
    }
}
