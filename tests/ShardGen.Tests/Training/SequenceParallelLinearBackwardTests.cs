using System;
using ShardGen.Planning;
using ShardGen.Planning.Steps;
using ShardGen.Runtime;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// Sequence-parallel linear layers (token-sharded activations between them: an all-gather of tokens before a
/// column-parallel layer, a reduce-scatter over tokens after a row-parallel one, the row layer's bias and activation on
/// each device's own tokens), their backward driven in reverse plan order with the catalog's conjugates, against
/// <see cref="LinearBackwardReference"/> on fresh random inputs at P = 1, 2, 4: dX and every dW and dBias within 1e-4.
/// Token counts below P leave devices without tokens.
/// </summary>
public sealed class SequenceParallelLinearBackwardTests
{
    /// <summary>The conjugates these tests call are the catalog's: all-gather of tokens ↔ reduce-scatter over tokens.</summary>
    [Fact]
    public void CatalogPairsTheTokenCollectives()
    {
        var gather = StepCatalog.Get<AllGather>(Placement.TokenShards, Placement.Replicated);
        var scatter = StepCatalog.Get<ReduceScatter>(Placement.Partial, Placement.TokenShards);
        Assert.Equal(nameof(ForwardPass.ReduceScatterTokens), gather.Backward.Method);
        Assert.True(gather.Backward.TakesPartialSums);
        Assert.Equal(nameof(ForwardPass.AllGather), scatter.Backward.Method);
        Assert.Equal(nameof(ForwardPass.BiasActivationBackward), StepCatalog.Get<BiasActivation>().Backward.Method);
    }

    /// <summary>Megatron's sequence-parallel MLP: g (all-gather tokens), column, row, ḡ (reduce-scatter over tokens), the down bias.</summary>
    [Theory]
    [InlineData(1, 11)]
    [InlineData(2, 12)]
    [InlineData(4, 13)]
    [InlineData(4, 14)]
    public void MlpMatchesReference(int devices, int seed)
    {
        var specs = Models.Mlp.LayerSpecs;
        var rng = new Random(seed);
        var w = Models.Mlp.Weights.Random(seed);
        var weights = new[] { w.Up!, w.Down! };
        int tokens = rng.Next(2, 10);
        var x = ReferenceMath.RandomMatrix(rng, tokens, 64);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, 64);
        using var mesh = DeviceMesh.CreateCpu(devices);
        var plan = ModelPlan.Create("Mlp", specs, devices, 0, sequenceParallel: false);
        using var core = new ShardedModelCore(mesh, plan, new IShardedLayer[]
        {
            ShardedLinear.SplitColumns(mesh, plan.Linear(0), w.Up!),
            ShardedLinear.SplitRows(mesh, plan.Linear(1), w.Down!),
        });
        float[,] dX;
        using (var pass = core.BeginTraining(x, dY))
        {
            var a0 = pass.UploadTokenShards();
            var a1 = pass.AllGather(a0);
            var a2 = pass.ColumnParallel(a1, core.Linear(0));
            var a3 = pass.RowParallel(a2, core.Linear(1));
            var a4 = pass.ReduceScatterTokens(a3);
            pass.BiasActivation(a4, core.Linear(1));

            var g4 = pass.UploadGradient(a4);
            pass.BiasActivationBackward(g4, core.Linear(1));
            var g2 = pass.RowParallelBackward(pass.AllGather(g4), a2, core.Linear(1));
            var g0 = pass.ReduceScatterTokens(pass.ColumnParallelBackward(g2, a1, core.Linear(0)));
            dX = pass.Download(g0);
        }
        LinearBackwardStepTests.AssertMatches(specs, weights, x, dY, dX, core.Gradients);
    }

    /// <summary>Row first (SiLU on each device's own tokens after the reduce-scatter), then column (sigmoid), output in column shards.</summary>
    [Theory]
    [InlineData(1, 21)]
    [InlineData(2, 22)]
    [InlineData(4, 23)]
    public void RowThenColumnMatchesReference(int devices, int seed)
    {
        var specs = Models.RowFirst.LayerSpecs;
        var rng = new Random(seed);
        var w = Models.RowFirst.Weights.Random(seed);
        var weights = new[] { w.In!, w.Out! };
        int tokens = rng.Next(2, 10);
        var x = ReferenceMath.RandomMatrix(rng, tokens, 64);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, 32);
        using var mesh = DeviceMesh.CreateCpu(devices);
        var plan = ModelPlan.Create("RowFirst", specs, devices, 0, sequenceParallel: false);
        using var core = new ShardedModelCore(mesh, plan, new IShardedLayer[]
        {
            ShardedLinear.SplitRows(mesh, plan.Linear(0), w.In!),
            ShardedLinear.SplitColumns(mesh, plan.Linear(1), w.Out!),
        });
        float[,] dX;
        using (var pass = core.BeginTraining(x, dY))
        {
            var a0 = pass.UploadColumnShards();
            var a1 = pass.RowParallel(a0, core.Linear(0));
            var a2 = pass.ReduceScatterTokens(a1);
            pass.BiasActivation(a2, core.Linear(0));
            var a3 = pass.AllGather(a2);
            var a4 = pass.ColumnParallel(a3, core.Linear(1));

            var g4 = pass.UploadGradient(a4);
            var g2 = pass.ReduceScatterTokens(pass.ColumnParallelBackward(g4, a3, core.Linear(1)));
            pass.BiasActivationBackward(g2, core.Linear(0));
            var g0 = pass.RowParallelBackward(pass.AllGather(g2), a0, core.Linear(0));
            dX = pass.Download(g0);
        }
        LinearBackwardStepTests.AssertMatches(specs, weights, x, dY, dX, core.Gradients);
    }
}
