using System;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;
using static ShardGen.Tests.Training.TrainingReference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// Sliding-window attention on an ILGPU device does work in proportion to tokens × window: the same results as the CPU
/// device and the double references (forward, KV-cache decode, backward), exactly the window's keys reaching each
/// query (a NaN elsewhere stays out, bitwise), and the count of scores computed growing as T·W, not T².
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class WindowedAttentionTests : IDisposable
{
    private readonly CpuDeviceMesh _cpu = CpuDeviceMesh.Create(1);

    private static IlgpuDevice Ilgpu => (IlgpuDevice)IlgpuMeshes.Cpu(1).Devices[0];

    private Device Cpu => _cpu.Devices[0];

    public void Dispose() => _cpu.Dispose();

    /// <summary>Windows 1, 3, 5, around the 16–64-row strips, past 64 and at or past T; packed sequences; grouped-query heads.</summary>
    public static TheoryData<int, int, int, int, int[]> Cases() => new()
    {
        // query heads, kv heads, head dim, window, sequence lengths
        { 4, 2, 8, 1, new[] { 40, 17 } },
        { 4, 2, 8, 3, new[] { 70, 5 } },
        { 2, 1, 16, 5, new[] { 66, 1, 9 } },
        { 4, 1, 4, 16, new[] { 150 } },
        { 4, 4, 4, 17, new[] { 20, 90 } },
        { 8, 2, 8, 64, new[] { 130, 3 } },
        { 2, 2, 4, 65, new[] { 200 } },
        { 4, 2, 4, 130, new[] { 130 } },     // W = T: plain causal attention
        { 4, 2, 4, 300, new[] { 130, 70 } }, // W > T
    };

    private static AttentionShape Shape(int queryHeads, int kvHeads, int headDim, int window, int[] lengths) =>
        new AttentionShape(queryHeads, kvHeads, headDim, true, ShardGen.Tests.Reference.TransformerReference.Starts(lengths)) { Window = window };

    /// <summary>Float-exact inputs in ±3: a peaked softmax, so a key let into (or left out of) a window shows.</summary>
    private static double[] Inputs(Random rng, int n) => RoundToFloat(Random(rng, n).Select(v => v * 3).ToArray());

    private static float[] Forward(Device d, double[] qkv, AttentionShape shape)
    {
        var output = Alloc(d, shape.Tokens, shape.OutputWidth, stride: shape.OutputWidth + 1);
        d.Attention(Upload(d, qkv, shape.Tokens, shape.FusedWidth, stride: shape.FusedWidth + 2, offset: 3), output, shape);
        return Download(output);
    }

    private static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_matches_the_cpu_device_and_the_double_reference(int queryHeads, int kvHeads, int headDim, int window, int[] lengths)
    {
        var shape = Shape(queryHeads, kvHeads, headDim, window, lengths);
        int seed = System.Random.Shared.Next();
        var qkv = Inputs(new Random(seed), shape.Tokens * shape.FusedWidth);
        var ilgpu = Forward(Ilgpu, qkv, shape);
        string what = $"window {window} heads {queryHeads}/{kvHeads} lengths [{string.Join(",", lengths)}] seed={seed}";
        AssertClose(ilgpu, Attention(qkv, shape), 1e-5, $"{what}: ILGPU vs double reference");
        AssertClose(ilgpu, ToDouble(Forward(Cpu, qkv, shape)), 1e-5, $"{what}: ILGPU vs CPU device");
    }

    /// <summary>A prefill, then one token at a time through the KV cache, on both devices: each equals the windowed whole.</summary>
    [Theory]
    [InlineData(4, 2, 8, 1, 20, 12)]
    [InlineData(4, 2, 8, 3, 70, 10)]
    [InlineData(2, 1, 16, 5, 1, 30)]
    [InlineData(8, 2, 4, 17, 90, 8)]
    [InlineData(4, 4, 4, 64, 66, 5)]
    [InlineData(4, 1, 4, 200, 100, 6)] // W > T
    public void Decode_matches_the_cpu_device_and_the_windowed_whole(int queryHeads, int kvHeads, int headDim, int window, int prefill, int decoded)
    {
        int seed = System.Random.Shared.Next(), total = prefill + decoded;
        var full = Shape(queryHeads, kvHeads, headDim, window, [total]);
        var qkv = Inputs(new Random(seed), total * full.FusedWidth);
        int[] chunks = [prefill, .. Enumerable.Repeat(1, decoded)];
        var ilgpu = Decode(Ilgpu, qkv, full, chunks);
        string what = $"window {window} heads {queryHeads}/{kvHeads} prefill {prefill} + {decoded} seed={seed}";
        AssertClose(ilgpu, Attention(qkv, full), 1e-5, $"{what}: ILGPU decode vs double reference");
        AssertClose(ilgpu, ToDouble(Decode(Cpu, qkv, full, chunks)), 1e-5, $"{what}: ILGPU vs CPU device decode");
    }

    private static float[] Decode(Device d, double[] qkv, AttentionShape full, int[] chunks)
    {
        int width = full.FusedWidth, kvWidth = full.KvHeads * full.HeadDim;
        var keys = Alloc(d, full.Tokens, kvWidth, stride: kvWidth + 1);
        var values = Alloc(d, full.Tokens, kvWidth, stride: kvWidth + 2, offset: 1);
        var result = new float[full.Tokens * full.OutputWidth];
        int cached = 0;
        foreach (int n in chunks)
        {
            var shape = full with { SequenceStarts = [0, n] };
            var output = Alloc(d, n, full.OutputWidth);
            d.Attention(Upload(d, qkv.AsSpan(cached * width, n * width).ToArray(), n, width), output, shape, keys, values, cached);
            Download(output).CopyTo(result, cached * full.OutputWidth);
            cached += n;
        }
        return result;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_matches_the_cpu_device_and_the_analytic_backward(int queryHeads, int kvHeads, int headDim, int window, int[] lengths)
    {
        var shape = Shape(queryHeads, kvHeads, headDim, window, lengths);
        int seed = System.Random.Shared.Next();
        var rng = new Random(seed);
        var qkv = RoundToFloat(Random(rng, shape.Tokens * shape.FusedWidth).Select(v => 2 * v).ToArray());
        var dOut = RoundToFloat(Random(rng, shape.Tokens * shape.OutputWidth));
        var ilgpu = Backward(Ilgpu, qkv, dOut, shape);
        string what = $"window {window} heads {queryHeads}/{kvHeads} lengths [{string.Join(",", lengths)}] seed={seed}";
        AssertClose(ilgpu, AttentionBackward(qkv, dOut, shape), 1e-4, $"{what}: ILGPU dQkv vs analytic");
        AssertClose(ilgpu, ToDouble(Backward(Cpu, qkv, dOut, shape)), 1e-4, $"{what}: ILGPU vs CPU device dQkv");
    }

    private static float[] Backward(Device d, double[] qkv, double[] dOut, AttentionShape shape)
    {
        int t = shape.Tokens;
        var dQkv = Alloc(d, t, shape.FusedWidth, stride: shape.FusedWidth + 1);
        d.AttentionBackward(Upload(d, qkv, t, shape.FusedWidth), Upload(d, dOut, t, shape.OutputWidth), dQkv, shape);
        return Download(dQkv);
    }

    /// <summary>
    /// A NaN or ∞ in token k reaches only the queries whose window holds it, [k, k + W) of its sequence; every other
    /// output row comes out bitwise as without it, so no kernel reads (even times 0) a key outside a query's window.
    /// </summary>
    [Theory]
    [InlineData(3, 0, float.NaN)]
    [InlineData(3, 40, float.NaN)]
    [InlineData(16, 60, float.PositiveInfinity)]
    [InlineData(20, 63, float.NaN)]
    [InlineData(70, 5, float.NaN)]  // a window past 64: the shared rectangle's GEMM and the band's upper keys
    [InlineData(70, 100, float.NegativeInfinity)]
    public void A_non_finite_token_reaches_only_the_queries_whose_window_holds_it(int window, int token, float poison)
    {
        var shape = Shape(4, 2, 4, window, [150, 9]);
        int seed = System.Random.Shared.Next();
        var qkv = Inputs(new Random(seed), shape.Tokens * shape.FusedWidth);
        var poisoned = (double[])qkv.Clone();
        for (int c = 0; c < shape.FusedWidth; c++) poisoned[token * shape.FusedWidth + c] = poison;
        var clean = Forward(Ilgpu, qkv, shape);
        var dirty = Forward(Ilgpu, poisoned, shape);
        int end = Math.Min(token + window, 150), width = shape.OutputWidth;
        string where = $"window {window} seed={seed} poison {poison} in token {token}";
        for (int row = 0; row < shape.Tokens; row++)
        {
            var after = dirty.AsSpan(row * width, width);
            if (row < token || row >= end)
                Assert.True(clean.AsSpan(row * width, width).SequenceEqual(after), $"{where}: token {row} changed (its window does not hold token {token}).");
            else
                Assert.True(after.ToArray().All(v => !float.IsFinite(v)), $"{where}: token {row} sees token {token} but came out finite.");
        }
    }

    /// <summary>
    /// The backward's counterpart: a NaN in token k changes dQ only of the queries [k, k + W) whose window holds it and
    /// dK, dV only of the keys j with |j − k| &lt; W (those share a query with k); every other gradient row is bitwise
    /// the same.
    /// </summary>
    [Theory]
    [InlineData(3, 20)]
    [InlineData(16, 70)]
    [InlineData(70, 2)]
    public void A_non_finite_token_reaches_only_the_gradients_that_share_a_window_with_it(int window, int token)
    {
        var shape = Shape(4, 2, 4, window, [150, 9]);
        int seed = System.Random.Shared.Next();
        var rng = new Random(seed);
        var qkv = Inputs(rng, shape.Tokens * shape.FusedWidth);
        var dOut = RoundToFloat(Random(rng, shape.Tokens * shape.OutputWidth));
        var poisoned = (double[])qkv.Clone();
        for (int c = 0; c < shape.FusedWidth; c++) poisoned[token * shape.FusedWidth + c] = float.NaN;
        var clean = Backward(Ilgpu, qkv, dOut, shape);
        var dirty = Backward(Ilgpu, poisoned, dOut, shape);
        int width = shape.FusedWidth, queries = shape.OutputWidth;
        string where = $"window {window} seed={seed} NaN in token {token}";
        for (int row = 0; row < shape.Tokens; row++)
        {
            bool sameSequence = row < 150;
            bool queryReads = sameSequence && row >= token && row < token + window;
            bool keyShares = sameSequence && Math.Abs(row - token) < window;
            var before = clean.AsSpan(row * width, width);
            var after = dirty.AsSpan(row * width, width);
            if (!queryReads)
                Assert.True(before[..queries].SequenceEqual(after[..queries]), $"{where}: dQ of token {row} changed (its window does not hold token {token}).");
            if (!keyShares)
                Assert.True(before[queries..].SequenceEqual(after[queries..]), $"{where}: dK/dV of token {row} changed (no query sees both it and token {token}).");
        }
        Assert.True(dirty.AsSpan(token * width, width).ToArray().All(v => !float.IsFinite(v)), $"{where}: the poisoned token's own gradients came out finite.");
    }

    private static long Scores(IlgpuDevice d, AttentionShape shape)
    {
        var qkv = Inputs(new Random(1), shape.Tokens * shape.FusedWidth);
        long before = d.AttentionScores;
        Forward(d, qkv, shape); // Download waits for the launches
        return d.AttentionScores - before;
    }

    /// <summary>
    /// The forward's scores (Q·Kᵀ cells; the softmax and P·V read within them) grow as T·W under a window: at W = 16 they
    /// stay within T·(2W − 1) per head and double when T doubles, while the whole causal prefix (W ≥ T) grows as T².
    /// </summary>
    [Fact]
    public void Forward_scores_grow_as_tokens_times_window()
    {
        var d = Ilgpu;
        const int heads = 2;
        AttentionShape At(int tokens, int window) => new AttentionShape(heads, 1, 4, true, [0, tokens]) { Window = window };
        long w16 = Scores(d, At(512, 16)), w16Twice = Scores(d, At(1024, 16));
        long whole = Scores(d, At(512, 512)), wholeTwice = Scores(d, At(1024, 1024));
        string figures = $"scores: W=16 T=512 {w16}, T=1024 {w16Twice}; W=T T=512 {whole}, T=1024 {wholeTwice}";
        Assert.True(w16 >= heads * 512L * 16 / 2, $"{figures}: fewer scores than the window's own keys");
        Assert.True(w16 <= heads * 512L * (2 * 16 - 1), $"{figures}: more than T·(2W − 1) per head");
        Assert.True(w16Twice <= 2.05 * w16, $"{figures}: doubling T more than doubled the windowed work");
        Assert.True(wholeTwice >= 3.5 * whole, $"{figures}: the whole causal prefix should grow as T²");
        Assert.True(whole >= 8 * w16, $"{figures}: W = 16 should score far fewer keys than W = T at T = 512");
    }

    /// <summary>A decoded token scores exactly its window's keys: min(W, position + 1) per query head, however long the cache.</summary>
    [Theory]
    [InlineData(1, 300)]
    [InlineData(16, 300)]
    [InlineData(100, 300)]
    [InlineData(400, 300)] // W past the cache: every cached key
    public void A_decoded_token_scores_exactly_its_window(int window, int prefill)
    {
        var d = Ilgpu;
        var full = Shape(4, 2, 4, window, [prefill + 1]);
        var qkv = Inputs(new Random(7), full.Tokens * full.FusedWidth);
        int width = full.FusedWidth, kvWidth = full.KvHeads * full.HeadDim;
        var keys = Alloc(d, full.Tokens, kvWidth);
        var values = Alloc(d, full.Tokens, kvWidth);
        d.Attention(Upload(d, qkv.AsSpan(0, prefill * width).ToArray(), prefill, width), Alloc(d, prefill, full.OutputWidth),
            full with { SequenceStarts = [0, prefill] }, keys, values, 0);
        d.Synchronize();
        long before = d.AttentionScores;
        var output = Alloc(d, 1, full.OutputWidth);
        d.Attention(Upload(d, qkv.AsSpan(prefill * width, width).ToArray(), 1, width), output, full with { SequenceStarts = [0, 1] }, keys, values, prefill);
        Download(output);
        Assert.Equal(full.QueryHeads * (long)Math.Min(window, prefill + 1), d.AttentionScores - before);
    }
}
