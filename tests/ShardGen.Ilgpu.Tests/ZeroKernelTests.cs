using System;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Training;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// The ILGPU Zero kernel clears exactly its strided view, NaN included (the CPU backend's test, on ILGPU), and a training
/// pass's pooled gradient partials are cleared by it: a second pass on ILGPU gives the CPU backend's first-pass gradients.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class ZeroKernelTests
{
    private static Device Dev => IlgpuMeshes.Cpu(1).Devices[0];

    [Theory]
    [InlineData(4, 7, 10, 3)]
    [InlineData(1, 5, 5, 0)]
    [InlineData(0, 5, 5, 2)]
    public void Zero_clears_the_view_and_nothing_else(int rows, int cols, int stride, int offset)
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int length = offset + rows * stride + 4;
        var before = Random(rng, length);
        before[offset] = double.NaN;
        var whole = Upload(d, before, 1, length);
        d.Zero(new MatrixView(whole.Buffer, offset, rows, cols, stride));
        var after = Download(whole);
        for (int i = 0; i < length; i++)
        {
            int r = (i - offset) / stride, c = (i - offset) % stride;
            bool inside = i >= offset && r < rows && c < cols;
            if (inside) Assert.True(after[i] == 0f, $"element {i} (row {r}, column {c}) is {after[i]}, not 0");
            else Assert.True(after[i].Equals((float)before[i]), $"element {i} outside the view changed: {before[i]} → {after[i]}");
        }
    }

    [Theory]
    [InlineData("TinyGpt2", 2, true)]                       // sequence parallel: norms', biases' and positions' partials
    [InlineData("TinyLlama tied, q/k/v biases", 4, false)]  // shared KV heads: the partials' bias row
    public void A_second_pass_starts_its_partials_from_zero(string variant, int devices, bool sequenceParallel)
    {
        var layers = TrainableModels.Layers(variant);
        var weights = LanguageModelReference.RandomWeights(ModelPlan.Create("I", layers, 1), devices + 20);
        bool gpt2 = variant.StartsWith("TinyGpt2", StringComparison.Ordinal);
        var rng = new Random(devices + 20);
        var ids = Enumerable.Range(0, 7).Select(_ => rng.Next(1003)).ToArray();
        var targets = Enumerable.Range(0, 7).Select(_ => rng.Next(1003)).ToArray();
        int[] lengths = { 3, 4 };
        using var cpuMesh = DeviceMesh.CreateCpu(devices);
        using var cpu = TrainableModels.Create(cpuMesh, gpt2, sequenceParallel, weights, layers);
        cpu.ForwardBackward(ids, targets, lengths);
        var expected = TrainableModels.Logical(cpu.Training);

        using var model = TrainableModels.Create(IlgpuMeshes.Cpu(devices), gpt2, sequenceParallel, weights, layers);
        model.ForwardBackward(ids, targets, lengths);
        model.Training.ZeroGradients();
        model.ForwardBackward(ids, targets, lengths);
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
            Assert.True(Math.Sqrt(diff) <= 1e-4 * Math.Max(Math.Sqrt(norm), 1e-3), $"{variant} on {devices}, pass 2: {key} differs by {Math.Sqrt(diff):E2} (‖g‖ = {Math.Sqrt(norm):E2})");
        }
    }
}
