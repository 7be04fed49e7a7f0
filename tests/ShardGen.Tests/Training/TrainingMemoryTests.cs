using System;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The plan's training memory against what the devices hold after a training step (forward–backward, optimizer step):
/// the persistent part (weights, gradients, optimizer states) is Device.AllocatedBytes, the pass's activations the bytes
/// parked in the model's pool (Device.PooledBytes), device by device; vocabularies that divide no device count.
/// </summary>
public sealed class TrainingMemoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-memory-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(ModelFamily.Llama, 1, true)]
    [InlineData(ModelFamily.Llama, 2, true)]
    [InlineData(ModelFamily.Llama, 4, false)]
    [InlineData(ModelFamily.Gpt2, 2, true)]
    [InlineData(ModelFamily.Gpt2, 4, false)]
    public void MeasuredAfterAStepEqualsThePlan(ModelFamily family, int devices, bool adamW)
    {
        string dir = Path.Combine(_root, $"{family}-{devices}");
        RandomCheckpoint.Write(dir, new RandomCheckpointSpec(family, Vocab: 103, Hidden: 32, Heads: 4, KvHeads: family == ModelFamily.Gpt2 || devices == 4 ? 4 : 2, FfnHidden: 48, Layers: 2)
            { Seed = devices, Positions = 32 });
        using var mesh = DeviceMesh.CreateCpu(devices);
        using ITrainableLanguageModel model = family == ModelFamily.Llama ? Llama.Load(mesh, dir) : Gpt2.Load(mesh, dir);
        using Optimizer optimizer = adamW ? new AdamW(1e-3) : new Sgd(1e-2);
        var rng = new Random(devices);
        int[] lengths = [7, 12];
        int tokens = lengths.Sum();
        var inputs = Enumerable.Range(0, tokens).Select(_ => rng.Next(103)).ToArray();
        var targets = Enumerable.Range(0, tokens).Select(_ => rng.Next(103)).ToArray();
        for (int step = 0; step < 2; step++)
        {
            model.Training.ZeroGradients();
            model.ForwardBackward(inputs, targets, lengths);
            optimizer.Step(model.Training);
        }
        for (int rank = 0; rank < devices; rank++)
        {
            var plan = model.Plan.TrainingMemory(tokens, optimizer, rank);
            var device = mesh.Devices[rank];
            device.Synchronize();
            Assert.Equal(plan.Persistent, device.AllocatedBytes);
            Assert.Equal(plan.Activations, device.PooledBytes);
            Assert.Equal(plan.Weights, plan.Gradients);
            Assert.Equal(adamW ? 2 * plan.Weights : 0, plan.OptimizerState);
        }
    }

    /// <summary>One block by hand: LLaMA on 2 devices, hidden 32, 4 heads of 8 (2 KV), FFN 48, vocab 103, T tokens.</summary>
    [Fact]
    public void TheLlamaFigureByHand()
    {
        string dir = Path.Combine(_root, "hand");
        RandomCheckpoint.Write(dir, new RandomCheckpointSpec(ModelFamily.Llama, 103, 32, 4, 2, 48, 1) { Positions = 32 });
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Llama.Load(mesh, dir);
        using var adam = new AdamW(1e-3);
        const int t = 10;
        var m0 = model.Plan.TrainingMemory(t, adam, 0);
        var m1 = model.Plan.TrainingMemory(t, adam, 1);
        // Device 0: embedding and head rows 0..51, device 1: 52..102; per block q 2 heads, k|v 1 head each, FFN 24.
        long block = 32 * (16 + 2 * 8) + 16 * 32 + 32 * 48 + 24 * 32 + 2 * 32;
        Assert.Equal(4 * (52 * 32 + block + 32 + 52 * 32), m0.Weights);
        Assert.Equal(4 * (51 * 32 + block + 32 + 51 * 32), m1.Weights);
        long blockActs = t * (6 * 32 + 2 * 32 + 2 * 16 + (48 + 24 + 24 + 48));
        Assert.Equal(4 * (t * 32 + blockActs + t * 32 + t * 52 + t * 2 + t * 2 + t * 32), m0.Activations);
        Assert.Equal(4 * m0.Weights + m0.Activations, m0.Total); // weights, gradients, m and v
    }
}
