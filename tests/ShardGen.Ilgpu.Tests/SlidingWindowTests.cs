using ShardGen.Devices;
using ShardGen.Tests.Backend;

namespace ShardGen.Ilgpu.Tests;

/// <summary>Mistral's sliding window on an ILGPU device: forward strips, the KV-cache path and the backward (<see cref="SlidingWindowCheck"/>).</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class SlidingWindowTests
{
    private static Device Dev => IlgpuMeshes.Cpu(1).Devices[0];

    public static TheoryData<int, int, int, int, int[]> Cases() => SlidingWindowCheck.Cases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_matches_the_windowed_reference(int queryHeads, int kvHeads, int headDim, int window, int[] lengths) =>
        SlidingWindowCheck.Forward(Dev, SlidingWindowCheck.Shape(queryHeads, kvHeads, headDim, window, lengths));

    [Theory]
    [InlineData(4, 2, 8, 3, new[] { 5, 1, 1, 1, 2, 1 })]
    [InlineData(4, 1, 16, 1, new[] { 2, 1, 1 })]
    [InlineData(8, 2, 8, 40, new[] { 70, 1, 3, 1 })]
    public void Cached_chunks_equal_the_windowed_whole(int queryHeads, int kvHeads, int headDim, int window, int[] chunks) =>
        SlidingWindowCheck.Cached(Dev, queryHeads, kvHeads, headDim, window, chunks);

    [Theory]
    [InlineData(4, 2, 8, 1, new[] { 6 })]
    [InlineData(4, 2, 8, 3, new[] { 7, 1, 5 })]
    [InlineData(2, 1, 16, 5, new[] { 5, 9 })]
    [InlineData(2, 2, 4, 4, new[] { 70 })]
    public void Backward_matches_the_windowed_analytic_backward(int queryHeads, int kvHeads, int headDim, int window, int[] lengths) =>
        SlidingWindowCheck.Backward(Dev, SlidingWindowCheck.Shape(queryHeads, kvHeads, headDim, window, lengths), 1e-4);
}
