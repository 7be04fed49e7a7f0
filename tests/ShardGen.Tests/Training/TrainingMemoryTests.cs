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
    public void MeasuredAfterAStepEqualsThePlan(ModelFamily family, int devices, bool adamW) =>
        AssertMeasuredEqualsPlan(family, devices, adamW, sequenceParallel: false, kvHeads: family == ModelFamily.Gpt2 || devices == 4 ? 4 : 2, null, [7, 12]);

    /// <summary>
    /// Sequence parallel plans (token shards of 19 tokens split unevenly, the replicated parameters' zeroed partials) and
    /// key/value heads shared by devices (each device's partial of its KV head's gradient, with and without q/k/v biases).
    /// </summary>
    [Theory]
    [InlineData(ModelFamily.Llama, 2, true, true, 2, null)]
    [InlineData(ModelFamily.Llama, 4, false, true, 4, null)]
    [InlineData(ModelFamily.Llama, 4, true, true, 2, null)]     // sequence parallel and shared KV heads
    [InlineData(ModelFamily.Gpt2, 2, true, true, 4, null)]      // positions, LayerNorm shifts and biases
    [InlineData(ModelFamily.Gpt2, 4, false, true, 4, null)]
    [InlineData(ModelFamily.Llama, 4, true, false, 2, null)]    // KV heads shared by two devices
    [InlineData(ModelFamily.Llama, 4, false, false, 1, "qwen2")] // one KV head on four devices, with its bias row
    public void SequenceParallelAndSharedKvPlansToo(ModelFamily family, int devices, bool adamW, bool sequenceParallel, int kvHeads, string? modelType) =>
        AssertMeasuredEqualsPlan(family, devices, adamW, sequenceParallel, kvHeads, modelType, [8, 11]);

    /// <summary>Fewer tokens than devices under sequence parallelism: device 3 holds no tokens, and no [tr, h] piece.</summary>
    [Fact]
    public void SequenceParallelWithADeviceWithoutTokens() =>
        AssertMeasuredEqualsPlan(ModelFamily.Gpt2, 4, true, sequenceParallel: true, kvHeads: 4, null, [3]);

    /// <summary>
    /// Two steps, then a third with the peak reset: the device's peak over a steady-state step (weights, gradients,
    /// optimizer states and the pass's activations, whatever their order) is the plan's total.
    /// </summary>
    private void AssertMeasuredEqualsPlan(ModelFamily family, int devices, bool adamW, bool sequenceParallel, int kvHeads, string? modelType, int[] lengths)
    {
        string dir = Path.Combine(_root, $"{family}-{devices}-{sequenceParallel}-{kvHeads}");
        RandomCheckpoint.Write(dir, new RandomCheckpointSpec(family, Vocab: 103, Hidden: 32, Heads: 4, KvHeads: kvHeads, FfnHidden: 48, Layers: 2)
            { Seed = devices, Positions = 32, ModelType = modelType });
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = TrainableModels.Load(mesh, family == ModelFamily.Gpt2 ? "gpt2" : "llama", sequenceParallel, dir);
        Assert.Equal(sequenceParallel, model.Plan.SequenceParallel);
        using Optimizer optimizer = adamW ? new AdamW(1e-3) : new Sgd(1e-2);
        var rng = new Random(devices);
        int tokens = lengths.Sum();
        var inputs = Enumerable.Range(0, tokens).Select(_ => rng.Next(103)).ToArray();
        var targets = Enumerable.Range(0, tokens).Select(_ => rng.Next(103)).ToArray();
        for (int step = 0; step < 3; step++)
        {
            if (step == 2)
                foreach (var d in mesh.Devices)
                {
                    d.Synchronize();
                    d.ResetPeakBytes();
                }
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
            Assert.Equal(plan.Total, device.PeakBytes);
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

    /// <summary>
    /// One block by hand under sequence parallelism: LLaMA on 2 devices, hidden 32, 4 heads of 8 (2 KV), FFN 48, vocab
    /// 103, 9 tokens split 5 | 4.
    /// </summary>
    [Fact]
    public void TheSequenceParallelFigureByHand()
    {
        string dir = Path.Combine(_root, "hand-sp");
        RandomCheckpoint.Write(dir, new RandomCheckpointSpec(ModelFamily.Llama, 103, 32, 4, 2, 48, 1) { Positions = 32 });
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = LlamaSequenceParallel.Load(mesh, dir);
        using var sgd = new Sgd(1e-2);
        const int t = 9;
        long[] own = [5, 4], vocab = [52, 51];
        for (int rank = 0; rank < 2; rank++)
        {
            var m = model.Plan.TrainingMemory(t, sgd, rank);
            long tr = own[rank];
            // Block: all-gathered norm outputs and stream gradients, partial sums, input gradients (8 × [T, 32]); norm
            // outputs and reduce-scattered sums (6 × [tr, 32]); q|k|v 32, context 16 and the gated MLP (48 + 24 + 24 + 48)
            // with their gradients; the two RMSNorm scales' partial gradients.
            long block = 8 * t * 32 + 6 * tr * 32 + t * (2 * 32 + 2 * 16 + (48 + 24 + 24 + 48)) + 2 * 32;
            long embedding = t * 32 + tr * 32 + t * 32;           // partial sums, their reduce-scatter, the gathered gradient
            long finalNorm = tr * 32 + t * 32 + 32;               // output, its all-gather, the scale's partial
            long head = t * vocab[rank] + t * 2 + t * 2 + t * 32 + tr * 32; // logits, maxima, sums, dX, its reduce-scatter
            Assert.Equal(4 * (embedding + block + finalNorm + head), m.Activations);
            Assert.Equal(0, m.OptimizerState);
        }
    }
}
