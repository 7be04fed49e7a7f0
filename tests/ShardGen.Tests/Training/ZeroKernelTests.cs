using System;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Training;

/// <summary>Device.Zero clears exactly its view (strided, inside a larger buffer), NaN included, and checks its argument.</summary>
public sealed class ZeroKernelTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);

    public void Dispose() => _mesh.Dispose();

    private Device D => _mesh.Devices[0];

    [Theory]
    [InlineData(4, 7, 10, 3)]
    [InlineData(1, 5, 5, 0)]
    [InlineData(0, 5, 5, 2)]
    public void ZeroClearsTheViewAndNothingElse(int rows, int cols, int stride, int offset)
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int length = offset + rows * stride + 4;
        var before = Random(rng, length);
        before[offset] = double.NaN; // a stale NaN must not survive (a scale by 0 would keep it)
        var whole = Upload(D, before, 1, length);
        var view = new MatrixView(whole.Buffer, offset, rows, cols, stride);
        D.Zero(view);
        var after = Download(whole);
        for (int i = 0; i < length; i++)
        {
            int r = (i - offset) / stride, c = (i - offset) % stride;
            bool inside = i >= offset && r < rows && c < cols;
            if (inside) Assert.True(after[i] == 0f, $"element {i} (row {r}, column {c}) is {after[i]}, not 0");
            else Assert.True(after[i].Equals((float)before[i]), $"element {i} outside the view changed: {before[i]} → {after[i]}");
        }
    }

    [Fact]
    public void ZeroRefusesAnotherDevicesBuffer()
    {
        using var other = CpuDeviceMesh.Create(1);
        var foreign = Alloc(other.Devices[0], 2, 3);
        Assert.ThrowsAny<ArgumentException>(() => D.Zero(foreign));
    }
}
