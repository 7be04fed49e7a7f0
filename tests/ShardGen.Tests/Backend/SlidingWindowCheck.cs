using System;
using System.Linq;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;
using static ShardGen.Tests.Training.TrainingReference;

namespace ShardGen.Tests.Backend;

/// <summary>
/// Mistral's sliding window (query i sees keys i − W &lt; j ≤ i) on any device: the forward, the cached forward (a
/// prefill, then chunks and single tokens: the cache keeps every row, the window masks it) and the backward, against
/// the double references with the same window. Shared by the CPU and ILGPU test projects.
/// </summary>
public static class SlidingWindowCheck
{
    /// <summary>Windows inside, at and past the sequences' lengths, packed sequences, grouped-query heads.</summary>
    public static TheoryData<int, int, int, int, int[]> Cases() => new()
    {
        // query heads, kv heads, head dim, window, sequence lengths
        { 4, 2, 8, 1, new[] { 6 } },
        { 4, 2, 8, 3, new[] { 7, 1, 5 } },
        { 2, 1, 16, 5, new[] { 5, 9 } },
        { 4, 4, 4, 4, new[] { 130 } },      // past one 96-row block on the CPU, past two 64-row strips on ILGPU
        { 8, 2, 8, 100, new[] { 97, 201 } }, // a window wider than a row block
        { 2, 2, 8, 50, new[] { 12, 30 } },   // wider than every sequence: plain causal attention
    };

    public static AttentionShape Shape(int queryHeads, int kvHeads, int headDim, int window, int[] lengths) =>
        new AttentionShape(queryHeads, kvHeads, headDim, true, ShardGen.Tests.Reference.TransformerReference.Starts(lengths)) { Window = window };

    /// <summary>Float-exact values in ±3, so the softmax is peaked and a key let into the window shows.</summary>
    private static double[] Inputs(Random rng, int n) => RoundToFloat(Random(rng, n).Select(v => v * 3).ToArray());

    /// <summary>The forward against the double reference, and against plain causal attention when the window covers everything.</summary>
    public static void Forward(Device d, AttentionShape shape)
    {
        int seed = System.Random.Shared.Next();
        var qkv = Inputs(new Random(seed), shape.Tokens * shape.FusedWidth);
        var qv = Upload(d, qkv, shape.Tokens, shape.FusedWidth, stride: shape.FusedWidth + 1, offset: 1);
        var ov = Alloc(d, shape.Tokens, shape.OutputWidth, stride: shape.OutputWidth + 2);
        d.Attention(qv, ov, shape);
        var actual = Download(ov);
        string what = $"window {shape.Window} heads {shape.QueryHeads}/{shape.KvHeads} on {d.Name} seed={seed}";
        var expected = Reference.Attention(qkv, shape);
        AssertClose(actual, expected, 1e-5, what);
        int longest = shape.SequenceStarts.Zip(shape.SequenceStarts.Skip(1), (a, b) => b - a).Max();
        var causal = Reference.Attention(qkv, shape with { Window = 0 });
        double gap = expected.Zip(causal, (a, b) => Math.Abs(a - b)).Max();
        if (shape.Window >= longest) Assert.True(gap == 0, $"{what}: a window covering every sequence must be plain causal attention");
        else Assert.True(gap > 1e-3, $"{what}: the window changed nothing, so this case tests nothing");
    }

    /// <summary>One sequence in <paramref name="chunks"/> through the KV cache equals the windowed attention of the whole.</summary>
    public static void Cached(Device d, int queryHeads, int kvHeads, int headDim, int window, int[] chunks)
    {
        int seed = System.Random.Shared.Next(), total = chunks.Sum();
        var full = Shape(queryHeads, kvHeads, headDim, window, [total]);
        int width = full.FusedWidth, kvWidth = kvHeads * headDim;
        var qkv = Inputs(new Random(seed), total * width);
        var keys = Alloc(d, total + 2, kvWidth, stride: kvWidth + 1);
        var values = Alloc(d, total + 2, kvWidth, stride: kvWidth + 3, offset: 2);
        var actual = new float[total * full.OutputWidth];
        int cached = 0;
        foreach (int n in chunks)
        {
            var shape = Shape(queryHeads, kvHeads, headDim, window, [n]);
            var qv = Upload(d, qkv.AsSpan(cached * width, n * width).ToArray(), n, width);
            var ov = Alloc(d, n, full.OutputWidth);
            d.Attention(qv, ov, shape, keys, values, cached);
            Download(ov).CopyTo(actual, cached * full.OutputWidth);
            cached += n;
        }
        AssertClose(actual, Reference.Attention(qkv, full), 1e-5,
            $"window {window} heads {queryHeads}/{kvHeads} chunks [{string.Join(",", chunks)}] on {d.Name} seed={seed}");
    }

    /// <summary>The backward against the analytic double backward with the window's mask, and (small shapes) finite differences.</summary>
    public static void Backward(Device d, AttentionShape shape, double tolerance)
    {
        int seed = System.Random.Shared.Next();
        var rng = new Random(seed);
        int t = shape.Tokens;
        var qkv = RoundToFloat(Random(rng, t * shape.FusedWidth).Select(v => v * 2).ToArray());
        var dOut = RoundToFloat(Random(rng, t * shape.OutputWidth));
        var analytic = AttentionBackward(qkv, dOut, shape);
        string what = $"window {shape.Window} heads {shape.QueryHeads}/{shape.KvHeads} tokens {t} on {d.Name} seed={seed}";
        if (t * shape.FusedWidth <= 2000)
            AssertClose(FiniteDifferences(v => Attention(v, shape), qkv, dOut).Select(v => (float)v).ToArray(), analytic, 1e-6, $"{what}: analytic vs finite differences");
        var dq = Alloc(d, t, shape.FusedWidth, stride: shape.FusedWidth + 2, offset: 1);
        d.Upload(Array.ConvertAll(Random(rng, t * (shape.FusedWidth + 2)), v => (float)v), shape.FusedWidth + 2, dq); // stale values are overwritten
        d.AttentionBackward(Upload(d, qkv, t, shape.FusedWidth), Upload(d, dOut, t, shape.OutputWidth), dq, shape);
        AssertClose(Download(dq), analytic, tolerance, $"{what}: dQkv vs analytic");
    }
}
