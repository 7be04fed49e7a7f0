using System;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Ilgpu;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// ILGPU causal attention skips masked keys like the CPU kernel: a NaN or ∞ in token k reaches only tokens k and later
/// of its own sequence; earlier tokens and other sequences come out bitwise as without it. Positions straddle the
/// 64-query causal strips.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class CausalNonFiniteTests
{
    private static Device Dev => IlgpuMeshes.Cpu(1).Devices[0];

    [Theory]
    [InlineData(0, float.NaN)]
    [InlineData(5, float.NaN)]
    [InlineData(63, float.NaN)]
    [InlineData(64, float.PositiveInfinity)]
    [InlineData(65, float.NaN)]
    [InlineData(69, float.NegativeInfinity)]
    [InlineData(73, float.NaN)]
    public void A_non_finite_token_leaves_earlier_tokens_and_other_sequences_exact(int token, float poison)
    {
        // GQA (4 query heads over 2 KV heads), two packed sequences: [0, 70) spans two strips, [70, 79) one.
        var shape = new AttentionShape(4, 2, 4, true, new[] { 0, 70, 79 });
        int seed = System.Random.Shared.Next();
        var qkv = RoundToFloat(Random(new System.Random(seed), shape.Tokens * shape.FusedWidth)).Select(v => 3 * v).ToArray();
        var poisoned = (double[])qkv.Clone();
        for (int c = 0; c < shape.FusedWidth; c++) poisoned[token * shape.FusedWidth + c] = poison;
        var clean = Run(qkv, shape);
        var dirty = Run(poisoned, shape);
        string where = $"seed={seed} poison {poison} in token {token}";
        AssertClose(clean, Attention(qkv, shape), 1e-5, where);
        int end = token < 70 ? 70 : 79, width = shape.OutputWidth;
        for (int row = 0; row < shape.Tokens; row++)
        {
            var after = dirty.AsSpan(row * width, width);
            if (row < token || row >= end)
                Assert.True(clean.AsSpan(row * width, width).SequenceEqual(after), $"{where}: token {row} changed (it never reads token {token}).");
            else
                Assert.True(after.ToArray().All(v => !float.IsFinite(v)), $"{where}: token {row} reads token {token} but came out finite.");
        }
    }

    [Theory]
    [InlineData(8, 2, new[] { 130 })]
    [InlineData(4, 1, new[] { 64, 1, 65 })]
    [InlineData(2, 2, new[] { 3, 128 })]
    public void Causal_strips_match_the_double_reference_for_packed_gqa_sequences(int heads, int kvHeads, int[] lengths)
    {
        var starts = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) starts[s + 1] = starts[s] + lengths[s];
        var shape = new AttentionShape(heads, kvHeads, 4, true, starts);
        int seed = System.Random.Shared.Next();
        var qkv = RoundToFloat(Random(new System.Random(seed), shape.Tokens * shape.FusedWidth)).Select(v => 2 * v).ToArray();
        AssertClose(Run(qkv, shape), Attention(qkv, shape), 1e-5, $"{heads}/{kvHeads} heads, lengths [{string.Join(",", lengths)}], seed={seed}");
    }

    [Fact]
    public void In_a_causal_model_a_nan_in_token_7_leaves_tokens_before_it_and_the_other_sequence_exact()
    {
        int seed = System.Random.Shared.Next();
        using var model = ShardGen.Tests.Models.TwoBlocks.Create(IlgpuMeshes.Cpu(2), ShardGen.Tests.Models.TwoBlocks.Weights.Random(seed));
        var x = ShardGen.Tests.Reference.ReferenceMath.RandomMatrix(new System.Random(seed), 21, 64);
        int[] lengths = [12, 9];
        var clean = model.Forward(x, lengths);
        var poisoned = (float[,])x.Clone();
        for (int c = 0; c < 64; c++) poisoned[7, c] = float.NaN;
        var y = model.Forward(poisoned, lengths);
        for (int row = 0; row < 21; row++)
        {
            var before = Enumerable.Range(0, y.GetLength(1)).Select(c => clean[row, c]).ToArray();
            var after = Enumerable.Range(0, y.GetLength(1)).Select(c => y[row, c]).ToArray();
            if (row >= 7 && row < 12) Assert.True(after.All(float.IsNaN), $"seed={seed}: token {row} reads token 7 but is not NaN.");
            else Assert.True(before.SequenceEqual(after), $"seed={seed}: token {row} does not read token 7 but changed.");
        }
    }

    private static float[] Run(double[] qkv, AttentionShape shape)
    {
        var d = Dev;
        var qv = Upload(d, qkv, shape.Tokens, shape.FusedWidth, stride: shape.FusedWidth + 1, offset: 1);
        var ov = Alloc(d, shape.Tokens, shape.OutputWidth, stride: shape.OutputWidth + 2);
        d.Attention(qv, ov, shape);
        var result = Download(ov);
        qv.Buffer.Dispose();
        ov.Buffer.Dispose();
        return result;
    }
}
