using System;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.EndToEnd;

/// <summary>
/// The NaN/Inf policy (docs/numerics.md): a non-finite input poisons exactly the outputs that read it, with no hidden
/// check. A token's row is read by its own row through every linear layer, norm and collective; attention adds the
/// later tokens of its sequence (causal) or its whole sequence (bidirectional), never another packed sequence.
/// </summary>
public class NonFinitePropagationTests
{
    [Theory]
    [InlineData(1, 0)]
    [InlineData(4, 6)]
    [InlineData(4, 10)]
    public void In_linear_models_a_nan_token_poisons_only_its_own_row(int devices, int token)
    {
        int seed = Random.Shared.Next();
        using var mesh = DeviceMesh.CreateCpu(devices);
        foreach (var model in new IShardedModel[]
        {
            Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(seed)),
            Models.ThreeLayer.Create(mesh, Models.ThreeLayer.Weights.Random(seed)),
            Models.Summa.Create(mesh, Models.Summa.Weights.Random(seed)),
        })
        using (model)
        {
            var x = ReferenceMath.RandomMatrix(new Random(seed), 11, model.Plan.Layers[0].InFeatures);
            var clean = Forward(model, x, null);
            var y = Forward(model, Poison(x, token, float.NaN), null);
            AssertRows(clean, y, row => row == token, $"{model.Plan.ModelName} on {devices} devices, NaN in token {token}, seed={seed}");
            // ±∞ follows the same rule: other rows are untouched (its own row gets whatever IEEE arithmetic gives).
            var inf = Forward(model, Poison(x, token, float.PositiveInfinity), null);
            for (int row = 0; row < 11; row++)
                if (row != token) Assert.True(Row(clean, row).SequenceEqual(Row(inf, row)), $"{model.Plan.ModelName}: +∞ in token {token} changed token {row}, seed={seed}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(11)]
    [InlineData(15)]
    public void In_causal_blocks_a_nan_token_poisons_itself_and_later_tokens_of_its_sequence_only(int token)
    {
        int seed = Random.Shared.Next();
        int[] lengths = [12, 9];
        using var mesh = DeviceMesh.CreateCpu(2);
        foreach (var model in new IShardedModel[]
        {
            Models.TwoBlocks.Create(mesh, Models.TwoBlocks.Weights.Random(seed)),
            Models.TwoBlocksSequenceParallel.Create(mesh, Models.TwoBlocksSequenceParallel.Weights.Random(seed)),
        })
        using (model)
        {
            var x = ReferenceMath.RandomMatrix(new Random(seed), 21, 64);
            var clean = Forward(model, x, lengths);
            var y = Forward(model, Poison(x, token, float.NaN), lengths);
            int end = token < 12 ? 12 : 21;
            AssertRows(clean, y, row => row >= token && row < end, $"{model.Plan.ModelName}, NaN in token {token}, seed={seed}");
        }
    }

    [Fact]
    public void In_bidirectional_blocks_a_nan_token_poisons_its_whole_sequence_only()
    {
        int seed = Random.Shared.Next();
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.GqaBlock.Create(mesh, Models.GqaBlock.Weights.Random(seed));
        var x = ReferenceMath.RandomMatrix(new Random(seed), 20, 64);
        var clean = Forward(model, x, [8, 12]);
        var y = Forward(model, Poison(x, 3, float.NaN), [8, 12]);
        AssertRows(clean, y, row => row < 8, $"GqaBlock, NaN in token 3, seed={seed}");
    }

    private static float[,] Forward(IShardedModel model, float[,] x, int[]? lengths) => model switch
    {
        Models.Mlp m => m.Forward(x),
        Models.ThreeLayer m => m.Forward(x),
        Models.Summa m => m.Forward(x),
        Models.TwoBlocks m => m.Forward(x, lengths),
        Models.TwoBlocksSequenceParallel m => m.Forward(x, lengths),
        Models.GqaBlock m => m.Forward(x, lengths),
        _ => throw new ArgumentException(model.GetType().Name),
    };

    private static float[,] Poison(float[,] x, int token, float value)
    {
        var copy = (float[,])x.Clone();
        for (int c = 0; c < copy.GetLength(1); c++) copy[token, c] = value;
        return copy;
    }

    private static float[] Row(float[,] y, int row) => Enumerable.Range(0, y.GetLength(1)).Select(c => y[row, c]).ToArray();

    /// <summary>Poisoned rows are NaN in every column; every other row is bitwise the clean result.</summary>
    private static void AssertRows(float[,] clean, float[,] y, Func<int, bool> poisoned, string context)
    {
        for (int row = 0; row < y.GetLength(0); row++)
        {
            if (poisoned(row)) Assert.True(Row(y, row).All(float.IsNaN), $"{context}: token {row} reads the NaN but is not NaN.");
            else Assert.True(Row(clean, row).SequenceEqual(Row(y, row)), $"{context}: token {row} does not read the NaN but changed.");
        }
    }
}
