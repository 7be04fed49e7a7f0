using System;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// A float model's <see cref="ModelPlan.TrainingMemory"/> against what the devices hold after a training step (zero →
/// Backward → optimizer step), device by device, as TrainingMemoryTests does for language models: the persistent part
/// (weights, gradient twins, optimizer states) is Device.AllocatedBytes, the pass's activations Device.PooledBytes, and
/// the peak over a steady-state step their sum. Column → row, row → column, a reduce-scatter onto column shards, blocks
/// with a head, a KV head shared by 4 devices, and sequence parallelism (uneven token shards, a row-parallel layer
/// reduce-scattered onto tokens); a token count drawn at random.
/// </summary>
public sealed class FloatTrainingMemoryTests
{
    [Theory]
    [InlineData("Mlp", 2, true)]
    [InlineData("Mlp", 4, false)]
    [InlineData("ThreeLayer", 4, true)]
    [InlineData("RowFirst", 2, false)]
    [InlineData("TwoBlocks", 2, true)]
    [InlineData("MqaBlock", 4, false)]
    [InlineData("TwoBlocksSequenceParallel", 4, true)]
    [InlineData("RowIntoSequenceParallelBlock", 2, false)]
    public void MeasuredAfterAStepEqualsThePlan(string name, int devices, bool adamW)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        var rng = new Random(devices * 31 + name.Length);
        int tokens = rng.Next(5, 12);
        var (model, backward, training, inFeatures, outFeatures) = Create(name, mesh, rng.Next());
        using var _ = model;
        var x = ReferenceMath.RandomMatrix(rng, tokens, inFeatures);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, outFeatures);
        using Optimizer optimizer = adamW ? new AdamW(1e-3) : new Sgd(1e-2);
        for (int step = 0; step < 3; step++)
        {
            if (step == 2)
                foreach (var d in mesh.Devices)
                {
                    d.Synchronize();
                    d.ResetPeakBytes();
                }
            training.ZeroGradients();
            backward(x, dY);
            optimizer.Step(training);
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

    /// <summary>
    /// The Megatron MLP by hand on 2 devices (64 → 256 GELU column-parallel → 64 row-parallel, biases): per device the
    /// up shard [64, 128] + 128 and the down shard [128, 64] + the whole 64 bias; per token the input [64], the up
    /// output and its kept pre-activation [128] each, the down partial sums [64], the output gradient [64], the down
    /// layer's dX [128] and the up layer's partial dX [64].
    /// </summary>
    [Fact]
    public void TheMlpFigureByHand()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(3));
        int t = new Random().Next(1, 50);
        using var sgd = new Sgd(0.1);
        var m = model.Plan.TrainingMemory(t, sgd, 1);
        Assert.Equal(4L * (64 * 128 + 128 + 128 * 64 + 64), m.Weights);
        Assert.Equal(4L * t * (64 + 128 + 128 + 64 + 64 + 128 + 64), m.Activations);
        Assert.Equal(0, m.OptimizerState);
    }

    [Fact]
    public void SummaModelsAreRefusedWithTheReason()
    {
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = Models.Summa.Create(mesh, Models.Summa.Weights.Random(1));
        using var sgd = new Sgd(0.1);
        var e = Assert.Throws<NotSupportedException>(() => model.Plan.TrainingMemory(8, sgd));
        Assert.Contains("SUMMA", e.Message);
        Assert.Contains(model.Plan.ModelName, e.Message);
    }

    private static (IShardedModel, Func<float[,], float[,], float[,]>, ModelTraining, int, int) Create(string name, DeviceMesh mesh, int seed) => name switch
    {
        "Mlp" => Of(Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(seed)), m => m.Backward, m => m.Training, 64, 64),
        "ThreeLayer" => Of(Models.ThreeLayer.Create(mesh, Models.ThreeLayer.Weights.Random(seed)), m => m.Backward, m => m.Training, 48, 24),
        "RowFirst" => Of(Models.RowFirst.Create(mesh, Models.RowFirst.Weights.Random(seed)), m => m.Backward, m => m.Training, 64, 32),
        "TwoBlocks" => Of(Models.TwoBlocks.Create(mesh, Models.TwoBlocks.Weights.Random(seed)), m => m.Backward, m => m.Training, 64, 32),
        "MqaBlock" => Of(Models.MqaBlock.Create(mesh, Models.MqaBlock.Weights.Random(seed)), m => m.Backward, m => m.Training, 64, 64),
        "TwoBlocksSequenceParallel" => Of(Models.TwoBlocksSequenceParallel.Create(mesh, Models.TwoBlocksSequenceParallel.Weights.Random(seed)),
            m => m.Backward, m => m.Training, 64, 32),
        "RowIntoSequenceParallelBlock" => Of(Models.RowIntoSequenceParallelBlock.Create(mesh, Models.RowIntoSequenceParallelBlock.Weights.Random(seed)),
            m => m.Backward, m => m.Training, 32, 64),
        _ => throw new ArgumentException(name),
    };

    private static (IShardedModel, Func<float[,], float[,], float[,]>, ModelTraining, int, int) Of<T>(T model, Func<T, Func<float[,], float[,], float[,]>> backward,
        Func<T, ModelTraining> training, int inFeatures, int outFeatures) where T : IShardedModel =>
        (model, backward(model), training(model), inFeatures, outFeatures);
}
