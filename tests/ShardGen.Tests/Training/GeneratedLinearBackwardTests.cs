using System;
using ShardGen.Collectives;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// The generated <c>Backward(x, outputGradient)</c> of float models against <see cref="LinearBackwardReference"/> on
/// fresh random inputs: dX and every layer's dW and dBias within 1e-4 (column → row MLPs with GELU/SiLU and both weight
/// layouts at P = 1, 2, 4; column → all-gather → column; column → row → reduce-scatter → row; a row-parallel first layer; SUMMA on 2×2, both layouts;
/// the grid mixed with 1D layers on 1×1, 2×2 and 3×3: column shards into blocks and back, blocks gathered whole for a column-parallel layer).
/// </summary>
public sealed class GeneratedLinearBackwardTests
{
    [Theory]
    [InlineData(1, 31)]
    [InlineData(2, 32)]
    [InlineData(4, 33)]
    public void MegatronMlp(int devices, int seed)
    {
        var w = Models.Mlp.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.Mlp.Create(mesh, w);
        Check(Models.Mlp.LayerSpecs, new[] { w.Up!, w.Down! }, model.Backward, model.Gradients, seed);
    }

    [Theory]
    [InlineData(1, 41)]
    [InlineData(2, 42)]
    [InlineData(4, 43)]
    public void TorchLayoutMlpWithoutDownBias(int devices, int seed)
    {
        var w = Models.TorchLayoutMlp.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.TorchLayoutMlp.Create(mesh, w);
        Check(Models.TorchLayoutMlp.LayerSpecs, new[] { w.Up!, w.Down! }, model.Backward, model.Gradients, seed);
    }

    [Theory]
    [InlineData(2, 51)]
    [InlineData(4, 52)]
    public void ColumnThenColumnReduceScattersTheGatheredGradient(int devices, int seed)
    {
        var w = Models.ColumnColumn.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.ColumnColumn.Create(mesh, w);
        Check(Models.ColumnColumn.LayerSpecs, new[] { w.First!, w.Second! }, model.Backward, model.Gradients, seed);
    }

    /// <summary>Column → row → reduce-scatter → row: the middle bias's gradient from column shards, the reduce-scatter's conjugate all-gather.</summary>
    [Theory]
    [InlineData(1, 55)]
    [InlineData(2, 56)]
    [InlineData(4, 57)]
    public void ThreeLayerWithReduceScatter(int devices, int seed)
    {
        var w = Models.ThreeLayer.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.ThreeLayer.Create(mesh, w);
        Check(Models.ThreeLayer.LayerSpecs, new[] { w.A!, w.B!, w.C! }, model.Backward, model.Gradients, seed);
    }

    [Theory]
    [InlineData(2, 61)]
    [InlineData(4, 62)]
    public void RowParallelFirst(int devices, int seed)
    {
        var w = Models.RowFirst.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.RowFirst.Create(mesh, w);
        Check(Models.RowFirst.LayerSpecs, new[] { w.In!, w.Out! }, model.Backward, model.Gradients, seed);
    }

    [Theory]
    [InlineData(1, 71)]
    [InlineData(4, 72)]
    public void SummaInOut(int devices, int seed)
    {
        var w = Models.Summa.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.Summa.Create(mesh, w);
        Check(Models.Summa.LayerSpecs, new[] { w.Layer! }, model.Backward, model.Gradients, seed);
    }

    [Theory]
    [InlineData(4, 81)]
    public void SummaOutIn(int devices, int seed)
    {
        var w = Models.SummaTorch.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.SummaTorch.Create(mesh, w);
        Check(Models.SummaTorch.LayerSpecs, new[] { w.Layer! }, model.Backward, model.Gradients, seed);
    }

    /// <summary>Column → SUMMA → row: the blocks ↔ column shards permutations, each the other's backward.</summary>
    [Theory]
    [InlineData(1, 101)]
    [InlineData(4, 102)]
    [InlineData(9, 103)]
    public void ColumnGridRow(int devices, int seed)
    {
        var w = Models.Mixed.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.Mixed.Create(mesh, w);
        Check(Models.Mixed.LayerSpecs, new[] { w.Up!, w.Mid!, w.Down! }, model.Backward, model.Gradients, seed);
    }

    /// <summary>
    /// Row → reduce-scatter → SUMMA → blocks gathered whole → column: the column layer's partial dX reduce-scattered onto
    /// blocks (no all-reduce first), the row layer's bias gradient from column shards.
    /// </summary>
    [Theory]
    [InlineData(1, 111)]
    [InlineData(4, 112)]
    [InlineData(9, 113)]
    public void RowGridColumn(int devices, int seed)
    {
        var w = Models.RowIntoGrid.Weights.Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.RowIntoGrid.Create(mesh, w);
        Check(Models.RowIntoGrid.LayerSpecs, new[] { w.In!, w.Grid!, w.Out! }, model.Backward, model.Gradients, seed);
    }

    /// <summary>Fewer tokens than grid rows: some devices hold empty token blocks in every grid step and its backward.</summary>
    [Theory]
    [InlineData(4, 1, 121)]
    [InlineData(9, 1, 122)]
    [InlineData(9, 2, 123)]
    public void GridModelsWithFewerTokensThanGridRows(int devices, int tokens, int seed)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        var wm = Models.Mixed.Weights.Random(seed);
        using (var mixed = Models.Mixed.Create(mesh, wm))
            Check(Models.Mixed.LayerSpecs, new[] { wm.Up!, wm.Mid!, wm.Down! }, mixed.Backward, mixed.Gradients, seed, tokens);
        var wr = Models.RowIntoGrid.Weights.Random(seed);
        using var row = Models.RowIntoGrid.Create(mesh, wr);
        Check(Models.RowIntoGrid.LayerSpecs, new[] { wr.In!, wr.Grid!, wr.Out! }, row.Backward, row.Gradients, seed, tokens);
    }

    /// <summary>Two Backward calls add up: the gradients after both equal the reference's for both batches summed.</summary>
    [Fact]
    public void GradientsAccumulateOverCalls()
    {
        var w = Models.Mlp.Weights.Random(91);
        var weights = new[] { w.Up!, w.Down! };
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.Mlp.Create(mesh, w);
        var rng = new Random(91);
        var (x1, d1) = (ReferenceMath.RandomMatrix(rng, 5, 64), ReferenceMath.RandomMatrix(rng, 5, 64));
        var (x2, d2) = (ReferenceMath.RandomMatrix(rng, 3, 64), ReferenceMath.RandomMatrix(rng, 3, 64));
        model.Backward(x1, d1);
        model.Backward(x2, d2);
        var r1 = LinearBackwardReference.Backward(Models.Mlp.LayerSpecs, weights, x1, d1);
        var r2 = LinearBackwardReference.Backward(Models.Mlp.LayerSpecs, weights, x2, d2);
        var expected = r1.WeightGradients[0];
        for (int i = 0; i < expected.GetLength(0); i++)
            for (int j = 0; j < expected.GetLength(1); j++) expected[i, j] += r2.WeightGradients[0][i, j];
        double e = ReferenceMath.RelativeError(model.Gradients(0).Weight, expected);
        Assert.True(e <= 1e-4, $"dUp.Weight after two calls: relative error {e:E2}");
    }

    /// <summary>The backward's collectives are the ones its comments name: the Megatron MLP's one all-reduce of dX [T, 64], as large as the forward's.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void MegatronMlpBackwardSendsOneAllReduceOfDx(int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(5));
        var rng = new Random(5);
        var x = ReferenceMath.RandomMatrix(rng, 7, 64);
        model.Forward(x);
        long forwardBytes = model.LastForward!.TotalBytesSent; // the report is the model's, reused by its next pass
        model.Backward(x, ReferenceMath.RandomMatrix(rng, 7, 64));
        var pass = model.LastForward!;
        Assert.Equal(2, pass.Count(CollectiveKind.AllReduce));
        Assert.Equal(pass.Records.Count, pass.Count(CollectiveKind.AllReduce));
        Assert.Equal(model.Plan.PredictedTotalBytes(7), forwardBytes);
        Assert.Equal(2 * forwardBytes, pass.TotalBytesSent);
    }

    /// <summary>
    /// A Backward's measured collectives (forward and backward together) equal the plan's forward figures plus its
    /// backward figures (PredictedBackward*), call kind by call kind and byte for byte.
    /// </summary>
    [Theory]
    [InlineData("Mlp", 2)]
    [InlineData("Mlp", 4)]
    [InlineData("ColumnColumn", 4)]
    [InlineData("ThreeLayer", 4)]
    [InlineData("RowFirst", 2)]
    [InlineData("Summa", 4)]
    [InlineData("SummaTorch", 4)]
    [InlineData("Mixed", 4)]
    [InlineData("Mixed", 9)]
    [InlineData("RowIntoGrid", 4)]
    [InlineData("RowIntoGrid", 9)]
    public void MeasuredTrafficIsThePlansForwardPlusBackward(string name, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        IShardedModel model = name switch
        {
            "Mlp" => Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(3)),
            "ColumnColumn" => Models.ColumnColumn.Create(mesh, Models.ColumnColumn.Weights.Random(3)),
            "ThreeLayer" => Models.ThreeLayer.Create(mesh, Models.ThreeLayer.Weights.Random(3)),
            "RowFirst" => Models.RowFirst.Create(mesh, Models.RowFirst.Weights.Random(3)),
            "Summa" => Models.Summa.Create(mesh, Models.Summa.Weights.Random(3)),
            "Mixed" => Models.Mixed.Create(mesh, Models.Mixed.Weights.Random(3)),
            "RowIntoGrid" => Models.RowIntoGrid.Create(mesh, Models.RowIntoGrid.Weights.Random(3)),
            _ => Models.SummaTorch.Create(mesh, Models.SummaTorch.Weights.Random(3)),
        };
        using var _ = model;
        var specs = model.Plan.Layers;
        var rng = new Random(devices);
        const int tokens = 6;
        var x = ReferenceMath.RandomMatrix(rng, tokens, specs[0].InFeatures);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, specs[^1].OutFeatures);
        Func<float[,], float[,], float[,]> backward = model switch
        {
            Models.Mlp m => m.Backward,
            Models.ColumnColumn m => m.Backward,
            Models.ThreeLayer m => m.Backward,
            Models.RowFirst m => m.Backward,
            Models.Summa m => m.Backward,
            Models.Mixed m => m.Backward,
            Models.RowIntoGrid m => m.Backward,
            Models.SummaTorch m => m.Backward,
            _ => throw new InvalidOperationException(name),
        };
        backward(x, dY);
        var plan = model.Plan;
        Assert.True(plan.HasBackward);
        var measured = model.LastForward!;
        Assert.Equal(plan.PredictedTotalBytes(tokens) + plan.PredictedBackwardTotalBytes(tokens), measured.TotalBytesSent);
        foreach (var kind in Enum.GetValues<CollectiveKind>())
            Assert.True(plan.PredictedCalls(kind) + plan.PredictedBackwardCalls(kind) == measured.Count(kind),
                $"{kind}: planned {plan.PredictedCalls(kind)} + {plan.PredictedBackwardCalls(kind)}, measured {measured.Count(kind)}");
    }

    [Fact]
    public void WrongOutputGradientShapeNamesTheShape()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(1));
        var e = Assert.Throws<ArgumentException>(() => model.Backward(new float[4, 64], new float[4, 63]));
        Assert.Contains("[4, 63]", e.Message);
        Assert.Contains("Down", e.Message);
    }

    private static void Check(System.Collections.Generic.IReadOnlyList<ShardGen.Planning.LayerSpec> specs, LinearWeights[] weights,
        Func<float[,], float[,], float[,]> backward, Func<int, LinearWeights> gradients, int seed, int tokens = 0)
    {
        var rng = new Random(seed);
        if (tokens == 0) tokens = rng.Next(3, 10);
        var x = ReferenceMath.RandomMatrix(rng, tokens, specs[0].InFeatures);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, specs[^1].OutFeatures);
        var dX = backward(x, dY);
        LinearBackwardStepTests.AssertMatches(specs, weights, x, dY, dX, gradients);
    }
}
