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
