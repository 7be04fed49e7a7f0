using System;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>Mistral's sliding window on CPU devices, one thread and a team of three (<see cref="SlidingWindowCheck"/>).</summary>
public sealed class SlidingWindowAttentionTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);
    private readonly CpuDeviceMesh _threaded = CpuDeviceMesh.Create(1, threadsPerDevice: 3);

    public void Dispose()
    {
        _mesh.Dispose();
        _threaded.Dispose();
    }

    public static TheoryData<int, int, int, int, int[]> Cases() => SlidingWindowCheck.Cases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesTheWindowedReference(int queryHeads, int kvHeads, int headDim, int window, int[] lengths)
    {
        var shape = SlidingWindowCheck.Shape(queryHeads, kvHeads, headDim, window, lengths);
        SlidingWindowCheck.Forward(_mesh.Devices[0], shape);
        SlidingWindowCheck.Forward(_threaded.Devices[0], shape);
    }

    [Theory]
    [InlineData(4, 2, 8, 3, new[] { 5, 1, 1, 1, 2, 1 })]
    [InlineData(4, 1, 16, 1, new[] { 2, 1, 1 })]
    [InlineData(2, 2, 8, 6, new[] { 1, 1, 1, 1, 1, 1, 1, 1 })]
    [InlineData(8, 2, 8, 40, new[] { 100, 1, 3, 1 })]
    [InlineData(8, 1, 64, 40, new[] { 254, 1, 1, 1, 1 })]
    public void CachedChunksEqualTheWindowedWhole(int queryHeads, int kvHeads, int headDim, int window, int[] chunks)
    {
        SlidingWindowCheck.Cached(_mesh.Devices[0], queryHeads, kvHeads, headDim, window, chunks);
        SlidingWindowCheck.Cached(_threaded.Devices[0], queryHeads, kvHeads, headDim, window, chunks);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BackwardMatchesTheWindowedAnalyticBackward(int queryHeads, int kvHeads, int headDim, int window, int[] lengths)
    {
        var shape = SlidingWindowCheck.Shape(queryHeads, kvHeads, headDim, window, lengths);
        SlidingWindowCheck.Backward(_mesh.Devices[0], shape, 1e-4);
        SlidingWindowCheck.Backward(_threaded.Devices[0], shape, 1e-4);
    }

    /// <summary>
    /// A row block starts at its first row's window: a NaN key and value well before it is never read, forward or
    /// backward (rows from the second 96-row block on, window 50, NaN at token 5), so those rows equal the reference.
    /// </summary>
    [Fact]
    public void KeysBeforeABlocksWindowAreNeverRead()
    {
        var d = _threaded.Devices[0];
        var shape = SlidingWindowCheck.Shape(4, 2, 8, 50, [200]);
        int t = shape.Tokens, w = shape.FusedWidth, ow = shape.OutputWidth, bad = 5, from = 96;
        int seed = System.Random.Shared.Next();
        var rng = new Random(seed);
        var qkv = RoundToFloat(Random(rng, t * w));
        var dOut = RoundToFloat(Random(rng, t * ow));
        var poisoned = (double[])qkv.Clone();
        for (int c = shape.QueryHeads * shape.HeadDim; c < w; c++) poisoned[bad * w + c] = double.NaN;

        var output = Alloc(d, t, ow);
        d.Attention(Upload(d, poisoned, t, w), output, shape);
        var got = Download(output);
        var expected = Reference.Attention(qkv, shape);
        AssertClose(got.AsSpan(from * ow).ToArray(), expected.AsSpan(from * ow).ToArray(), 1e-5, $"forward rows from {from}, seed={seed}");

        var dq = Alloc(d, t, w);
        d.AttentionBackward(Upload(d, poisoned, t, w), Upload(d, dOut, t, ow), dq, shape);
        var grads = Download(dq);
        var analytic = ShardGen.Tests.Training.TrainingReference.AttentionBackward(qkv, dOut, shape);
        // Query rows from the second block, and every key/value row a NaN could only reach through them.
        AssertClose(grads.AsSpan(from * w).ToArray(), analytic.AsSpan(from * w).ToArray(), 1e-4, $"backward rows from {from}, seed={seed}");
    }

    [Fact]
    public void AWindowOnABidirectionalOrNegativeShapeIsRefused()
    {
        var d = _mesh.Devices[0];
        var shape = SlidingWindowCheck.Shape(2, 1, 4, 2, [5]);
        var qkv = Alloc(d, 5, shape.FusedWidth);
        var output = Alloc(d, 5, shape.OutputWidth);
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape with { Causal = false }), "sliding Window (2)", "causal");
        NormalizationTests.AssertThrows(() => d.Attention(qkv, output, shape with { Window = -1 }), "sliding Window (-1)");
        NormalizationTests.AssertThrows(() => d.AttentionBackward(qkv, output, Alloc(d, 5, shape.FusedWidth), shape with { Causal = false }), "sliding Window (2)");
        d.Synchronize();
    }
}
