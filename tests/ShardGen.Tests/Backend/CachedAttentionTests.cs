using System;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>Attention against a KV cache: a prefill then chunks and single tokens equal causal attention over the whole sequence.</summary>
public sealed class CachedAttentionTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(2);
    private readonly CpuDeviceMesh _threaded = CpuDeviceMesh.Create(1, threadsPerDevice: 3);

    public void Dispose()
    {
        _mesh.Dispose();
        _threaded.Dispose();
    }

    public static TheoryData<int, int, int, int[]> Cases() => new()
    {
        // query heads, kv heads (group sizes 1, 2, 4), head dim, chunk lengths (prefill first, then steps)
        { 4, 4, 16, new[] { 5, 1, 1, 1 } },
        { 4, 2, 8, new[] { 3, 1, 2, 1, 1 } },
        { 8, 2, 64, new[] { 7, 1, 1, 3, 1 } },
        { 4, 1, 12, new[] { 1, 1, 1, 1 } },
        { 2, 1, 128, new[] { 100, 1, 1 } },
        { 8, 8, 5, new[] { 2, 4, 1 } },
        // Steps across 256 cached keys, where the single-thread decode's scratch grows (it grows 256 keys at a time).
        { 8, 2, 96, new[] { 250, 1, 1, 1, 1, 1, 1, 1, 1 } },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ChunksThenSingleTokensEqualFullCausalAttention(int queryHeads, int kvHeads, int headDim, int[] chunks)
    {
        Check(_mesh.Devices[1], queryHeads, kvHeads, headDim, chunks);
        Check(_threaded.Devices[0], queryHeads, kvHeads, headDim, chunks);
    }

    private static void Check(Device d, int queryHeads, int kvHeads, int headDim, int[] chunks)
    {
        int seed = System.Random.Shared.Next(), total = chunks.Sum(), spare = 3;
        var full = AttentionTests.Shape(queryHeads, kvHeads, headDim, true, new[] { total });
        int width = full.FusedWidth, kvWidth = kvHeads * headDim;
        var qkv = Random(new Random(seed), total * width);
        for (int i = 0; i < qkv.Length; i++) qkv[i] = (float)(qkv[i] * 3);
        var expected = Reference.Attention(qkv, full);

        // Caches with a row stride wider than their columns and room to spare, as a model's cache would be.
        var keys = Alloc(d, total + spare, kvWidth, stride: kvWidth + 2, offset: 1);
        var values = Alloc(d, total + spare, kvWidth, stride: kvWidth + 4);
        var actual = new float[total * full.OutputWidth];
        int cached = 0;
        foreach (int n in chunks)
        {
            var shape = AttentionTests.Shape(queryHeads, kvHeads, headDim, true, new[] { n });
            var chunk = qkv.AsSpan(cached * width, n * width).ToArray();
            var qv = Upload(d, chunk, n, width, stride: width + 1, offset: 1);
            var ov = Alloc(d, n, full.OutputWidth, stride: full.OutputWidth + 2);
            d.Attention(qv, ov, shape, keys, values, cached);
            Download(ov).CopyTo(actual, cached * full.OutputWidth);
            cached += n;
        }
        AssertClose(actual, expected, 1e-5, $"heads {queryHeads}/{kvHeads} dim {headDim} chunks [{string.Join(",", chunks)}] on {d.Name} seed={seed}");

        // The caches hold exactly every token's key and value heads.
        var k = Download(keys);
        var v = Download(values);
        for (int t = 0; t < total; t++)
        for (int c = 0; c < kvWidth; c++)
        {
            Assert.Equal((float)qkv[t * width + queryHeads * headDim + c], k[t * kvWidth + c]);
            Assert.Equal((float)qkv[t * width + (queryHeads + kvHeads) * headDim + c], v[t * kvWidth + c]);
        }
    }

    [Fact]
    public void BadArgumentsThrowAtEnqueueAndAFullCacheIsAnError()
    {
        var d = _mesh.Devices[0];
        var shape = AttentionTests.Shape(4, 2, 8, true, new[] { 3 });
        var qkv = Upload(d, Random(new Random(1), 3 * 64), 3, 64);
        var output = Alloc(d, 3, 32);
        var keys = Alloc(d, 10, 16);
        var values = Alloc(d, 10, 16);

        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape, keys, values, 8), "cache is full", "holds 10 tokens", "8 are cached", "3 more");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape, keys, values, -1), "cachedTokens");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape, Alloc(d, 10, 15), values, 0), "[maxTokens, 16]", "10×15");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape, keys, Alloc(d, 9, 16), 0), "[maxTokens, 16]", "9×16");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape with { Causal = false }, keys, values, 0), "one causal sequence");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, AttentionTests.Shape(4, 2, 8, true, new[] { 1, 2 }), keys, values, 0), "one causal sequence");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, Alloc(d, 3, 31), shape, keys, values, 0), "output must be 3×32");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape, keys, keys, 0), "must not overlap");
        var both = Alloc(d, 10, 32);
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape, both.Columns(0, 16), both.Columns(8, 16), 0), "must not overlap");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape, Alloc(_mesh.Devices[1], 10, 16), values, 0), "cpu:1");

        // Nothing was enqueued: the caches are untouched and a good call still works, up to the last row.
        d.Synchronize();
        Assert.All(Download(keys), v => Assert.Equal(0f, v));
        d.Attention(qkv, output, shape, keys, values, 7);
        d.Synchronize();
        NormalizationTests.AssertThrows(() => d.Attention(qkv.RowsOf(0, 1), output.RowsOf(0, 1), AttentionTests.Shape(4, 2, 8, true, new[] { 1 }), keys, values, 10), "cache is full");
    }
}
