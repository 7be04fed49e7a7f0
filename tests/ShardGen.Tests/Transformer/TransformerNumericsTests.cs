using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Transformer;

/// <summary>
/// Sharded transformer blocks match the double-precision reference for P = 1, 2, 4, 8; 8 heads with 8, 2 and 1
/// KV heads; causal or not; sequence parallel or not; one sequence or several, lengths including 1.
/// </summary>
public class TransformerNumericsTests
{
    private const double Tolerance = 1e-4;

    // Each entry: the sequence lengths packed along the token dimension.
    private static readonly int[][] SequenceLayouts = { new[] { 1 }, new[] { 13 }, new[] { 5, 1, 7 }, new[] { 16, 16 } };

    public static IEnumerable<object[]> Cases() =>
        from m in TransformerCase.All from p in new[] { 1, 2, 4, 8 } select new object[] { m, p };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Block_forward_matches_reference(TransformerCase model, int devices)
    {
        int seed = Random.Shared.Next();
        var rng = new Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        var (sharded, weights) = model.Create(mesh, seed);
        using (sharded)
        {
            foreach (var lengths in SequenceLayouts)
            {
                var x = ReferenceMath.RandomMatrix(rng, lengths.Sum(), model.Hidden);
                var y = model.Forward(sharded, x, lengths);
                double error = ReferenceMath.RelativeError(y, model.Reference(weights, x, lengths));
                Assert.True(error < Tolerance,
                    $"{model} on {devices} devices, sequences [{string.Join(", ", lengths)}]: relative error {error:E2} (seed {seed}).");
            }
        }
    }

    [Fact]
    public void Batched_three_dimensional_input_keeps_sequences_apart()
    {
        int seed = Random.Shared.Next();
        var rng = new Random(seed);
        using var mesh = DeviceMesh.CreateCpu(4);
        var weights = Models.MhaBlock.Weights.Random(seed);
        using var model = Models.MhaBlock.Create(mesh, weights);
        var batch = new float[3, 6, 64];
        for (int b = 0; b < 3; b++)
            for (int s = 0; s < 6; s++)
                for (int h = 0; h < 64; h++)
                    batch[b, s, h] = (float)(rng.NextDouble() * 2 - 1);

        var y = model.Forward(batch);
        Assert.Equal(new[] { 3, 6, 64 }, new[] { y.GetLength(0), y.GetLength(1), y.GetLength(2) });
        for (int b = 0; b < 3; b++)
        {
            // Each batch row alone must give the same result: attention never crosses sequences.
            var single = new float[6, 64];
            for (int s = 0; s < 6; s++)
                for (int h = 0; h < 64; h++)
                    single[s, h] = batch[b, s, h];
            var reference = TransformerCase.Mha.Reference(new LayerWeights[] { weights.Block! }, single, null);
            var row = new float[6, 64];
            for (int s = 0; s < 6; s++)
                for (int h = 0; h < 64; h++)
                    row[s, h] = y[b, s, h];
            Assert.True(ReferenceMath.RelativeError(row, reference) < Tolerance, $"batch row {b} (seed {seed})");
        }
    }

    [Fact]
    public void Sequence_parallel_and_plain_models_give_the_same_result()
    {
        int seed = Random.Shared.Next();
        var x = ReferenceMath.RandomMatrix(new Random(seed), 11, 64);
        using var mesh = DeviceMesh.CreateCpu(4);
        using var plain = Models.TwoBlocks.Create(mesh, Models.TwoBlocks.Weights.Random(seed));
        using var sp = Models.TwoBlocksSequenceParallel.Create(mesh, Models.TwoBlocksSequenceParallel.Weights.Random(seed));
        var a = plain.Forward(x);
        var b = sp.Forward(x);
        Assert.True(ReferenceMath.RelativeError(a, ReferenceMath.ToDouble(b)) < 1e-5, $"seed {seed}");
    }
}
