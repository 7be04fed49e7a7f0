using System;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// The float models' linear backward steps driven by hand in plan order (the steps a generated Backward calls),
/// against <see cref="LinearBackwardReference"/> on fresh random inputs: dX and every dW and dBias within 1e-4.
/// </summary>
public sealed class LinearBackwardStepTests
{
    private const double Tolerance = 1e-4;

    [Theory]
    [InlineData(1, 11)]
    [InlineData(2, 12)]
    [InlineData(4, 13)]
    public void ColumnThenRowMlpMatchesReference(int devices, int seed)
    {
        var specs = Models.Mlp.LayerSpecs;
        var rng = new Random(seed);
        var w = Models.Mlp.Weights.Random(seed);
        var weights = new[] { w.Up!, w.Down! };
        int tokens = rng.Next(3, 9);
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
            var a0 = pass.UploadReplicated();
            var a1 = pass.ColumnParallel(a0, core.Linear(0));
            var a2 = pass.RowParallel(a1, core.Linear(1));
            var a3 = pass.AllReduce(a2);
            pass.BiasActivation(a3, core.Linear(1));
            var g3 = pass.UploadGradient(a3);
            pass.BiasActivationBackward(g3, core.Linear(1));
            var g1 = pass.RowParallelBackward(g3, a1, core.Linear(1));
            var g0 = pass.AllReduce(pass.ColumnParallelBackward(g1, a0, core.Linear(0)));
            dX = pass.Download(g0);
        }
        AssertMatches(specs, weights, x, dY, dX, core.Gradients);
    }

    [Theory]
    [InlineData(false, 21)]
    [InlineData(true, 22)]
    public void SummaMatchesReferenceOnTwoByTwo(bool torchLayout, int seed)
    {
        var specs = torchLayout ? Models.SummaTorch.LayerSpecs : Models.Summa.LayerSpecs;
        var rng = new Random(seed);
        var weights = new[] { LinearWeights.Random(specs[0], seed, 0) };
        int tokens = rng.Next(4, 11);
        var x = ReferenceMath.RandomMatrix(rng, tokens, 48);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, 72);
        using var mesh = DeviceMesh.CreateCpu(4);
        var plan = ModelPlan.Create("Summa", specs, 4, 0, sequenceParallel: false);
        using var core = new ShardedModelCore(mesh, plan, new IShardedLayer[] { ShardedLinear.SplitBlocks(mesh, plan.Linear(0), weights[0]) });
        float[,] dX;
        using (var pass = core.BeginTraining(x, dY))
        {
            var a0 = pass.UploadBlocks();
            var a1 = pass.Summa2D(a0, core.Linear(0));
            var g1 = pass.UploadGradient(a1);
            dX = pass.Download(pass.Summa2DBackward(g1, a0, core.Linear(0)));
        }
        AssertMatches(specs, weights, x, dY, dX, core.Gradients);
    }

    internal static void AssertMatches(System.Collections.Generic.IReadOnlyList<LayerSpec> specs, LinearWeights[] weights, float[,] x, float[,] dY,
        float[,] dX, Func<int, LinearWeights> gradients)
    {
        var expected = LinearBackwardReference.Backward(specs, weights, x, dY);
        double e = ReferenceMath.RelativeError(dX, expected.InputGradient);
        Assert.True(e <= Tolerance, $"dX: relative error {e:E2}");
        for (int i = 0; i < specs.Count; i++)
        {
            var g = gradients(i);
            double ew = ReferenceMath.RelativeError(g.Weight, expected.WeightGradients[i]);
            Assert.True(ew <= Tolerance, $"d{specs[i].Name}.Weight: relative error {ew:E2}");
            if (specs[i].HasBias)
            {
                double eb = LinearBackwardReference.RelativeError(g.Bias!, expected.BiasGradients[i]!);
                Assert.True(eb <= Tolerance, $"d{specs[i].Name}.Bias: relative error {eb:E2}");
            }
        }
    }
}
