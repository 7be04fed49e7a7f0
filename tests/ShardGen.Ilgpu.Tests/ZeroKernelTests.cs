using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>The ILGPU Zero kernel clears exactly its strided view, NaN included (the CPU backend's test, on ILGPU).</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class ZeroKernelTests
{
    private static Device Dev => IlgpuMeshes.Cpu(1).Devices[0];

    [Theory]
    [InlineData(4, 7, 10, 3)]
    [InlineData(1, 5, 5, 0)]
    [InlineData(0, 5, 5, 2)]
    public void Zero_clears_the_view_and_nothing_else(int rows, int cols, int stride, int offset)
    {
        var d = Dev;
        var rng = new System.Random(System.Random.Shared.Next());
        int length = offset + rows * stride + 4;
        var before = Random(rng, length);
        before[offset] = double.NaN;
        var whole = Upload(d, before, 1, length);
        d.Zero(new MatrixView(whole.Buffer, offset, rows, cols, stride));
        var after = Download(whole);
        for (int i = 0; i < length; i++)
        {
            int r = (i - offset) / stride, c = (i - offset) % stride;
            bool inside = i >= offset && r < rows && c < cols;
            if (inside) Assert.True(after[i] == 0f, $"element {i} (row {r}, column {c}) is {after[i]}, not 0");
            else Assert.True(after[i].Equals((float)before[i]), $"element {i} outside the view changed: {before[i]} → {after[i]}");
        }
    }
}
