using System;
using System.Linq;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>The ILGPU language-model kernels (lookup, rotary, gated activation, KV-cache attention) against double references; small sizes (the CPU accelerator is slow).</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class DecoderKernelTests
{
    private static Device Dev => IlgpuMeshes.Cpu(1).Devices[0];

    [Fact]
    public void Gather_copies_the_shards_rows_and_zeros_the_others()
    {
        var d = Dev;
        int seed = System.Random.Shared.Next(), rows = 5, cols = 7, first = 3;
        var rng = new Random(seed);
        var table = Random(rng, rows * cols);
        var ids = new[] { 3, 7, 8, 2, 0, int.MaxValue, 5 };
        var tv = Upload(d, table, rows, cols, stride: cols + 2, offset: 1);
        var ov = Upload(d, Random(rng, ids.Length * cols), ids.Length, cols, stride: cols + 1);
        d.Gather(ids, first, tv, ov);
        ids[0] = 4; // copied at enqueue
        Assert.Equal(Array.ConvertAll(Gather(table, rows, cols, new[] { 3, 7, 8, 2, 0, int.MaxValue, 5 }, first), v => (float)v), Download(ov));
    }

    [Theory]
    [InlineData(3, 8, 10000f, new[] { 5, 6, 7 })]
    [InlineData(2, 6, 500000f, new[] { 1, 1001, 4095, 0 })]
    public void Rotary_matches_the_Hugging_Face_formula(int heads, int headDim, float theta, int[] positions)
    {
        var d = Dev;
        int seed = System.Random.Shared.Next(), cols = heads * headDim + 5, rows = positions.Length;
        var x = RoundToFloat(Random(new Random(seed), rows * cols));
        var xv = Upload(d, x, rows, cols, stride: cols + 3, offset: 2);
        d.Rotary(xv, heads, headDim, positions, theta);
        AssertClose(Download(xv), Rotary(x, rows, cols, heads, headDim, positions, theta, floatAngles: true), 1e-6, $"seed={seed}");
    }

    [Theory]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.None)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    public void GatedActivation_is_act_of_gate_times_up(Activation activation)
    {
        var d = Dev;
        int seed = System.Random.Shared.Next(), rows = 3, n = 9;
        var gu = Random(new Random(seed), rows * 2 * n).Select(v => (double)(float)(4 * v)).ToArray();
        var gv = Upload(d, gu, rows, 2 * n, stride: 2 * n + 1, offset: 1);
        var ov = Alloc(d, rows, n, stride: n + 2);
        d.GatedActivation(gv, ov, activation);
        var expected = new double[rows * n];
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            expected[r * n + j] = Activate(gu[r * 2 * n + j], activation) * gu[r * 2 * n + n + j];
        AssertClose(Download(ov), expected, 1e-5, $"{activation} seed={seed}");
    }

    [Theory]
    [InlineData(4, 4, new[] { 3, 1, 1 })]
    [InlineData(4, 2, new[] { 2, 1, 2, 1 })]
    [InlineData(4, 1, new[] { 1, 1, 3 })]
    public void Cached_attention_chunks_then_single_tokens_equal_full_causal_attention(int queryHeads, int kvHeads, int[] chunks)
    {
        var d = Dev;
        const int headDim = 8;
        int seed = System.Random.Shared.Next(), total = chunks.Sum();
        var full = new AttentionShape(queryHeads, kvHeads, headDim, true, new[] { 0, total });
        int width = full.FusedWidth, kvWidth = kvHeads * headDim;
        var qkv = Random(new Random(seed), total * width).Select(v => (double)(float)(3 * v)).ToArray();
        var keys = Alloc(d, total + 2, kvWidth, stride: kvWidth + 1, offset: 1);
        var values = Alloc(d, total + 2, kvWidth);
        var actual = new float[total * full.OutputWidth];
        int cached = 0;
        foreach (int n in chunks)
        {
            var shape = new AttentionShape(queryHeads, kvHeads, headDim, true, new[] { 0, n });
            var qv = Upload(d, qkv.AsSpan(cached * width, n * width).ToArray(), n, width, stride: width + 2);
            var ov = Alloc(d, n, full.OutputWidth, stride: full.OutputWidth + 1, offset: 2);
            d.Attention(qv, ov, shape, keys, values, cached);
            Download(ov).CopyTo(actual, cached * full.OutputWidth);
            cached += n;
        }
        AssertClose(actual, Attention(qkv, full), 1e-5, $"{queryHeads}/{kvHeads} chunks [{string.Join(",", chunks)}] seed={seed}");
        var k = Download(keys);
        for (int t = 0; t < total; t++)
        for (int c = 0; c < kvWidth; c++)
            Assert.Equal((float)qkv[t * width + queryHeads * headDim + c], k[t * kvWidth + c]);
        var shape1 = new AttentionShape(queryHeads, kvHeads, headDim, true, new[] { 0, 3 });
        var e = Assert.ThrowsAny<ArgumentException>(() => d.Attention(Alloc(d, 3, width), Alloc(d, 3, full.OutputWidth), shape1, keys, values, total));
        Assert.Contains("cache is full", e.Message);
    }
}
