using System;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

public sealed class DeviceTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(2);

    public void Dispose() => _mesh.Dispose();

    [Fact]
    public void AllocateIsZeroFilledAndNamed()
    {
        var d = _mesh.Devices[1];
        Assert.Equal("cpu:1", d.Name);
        Assert.Equal(1, d.Rank);
        var v = Alloc(d, 3, 5);
        Assert.All(Download(v), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void UploadDownloadRoundTripsStridedViews()
    {
        var d = _mesh.Devices[0];
        var x = Reference.Random(new Random(9), 6 * 5);
        var v = Upload(d, x, 6, 5, stride: 8, offset: 2);
        var host = new float[6 * 7];
        d.Download(v, host, 7);
        for (int r = 0; r < 6; r++)
        for (int c = 0; c < 5; c++)
            Assert.Equal((float)x[r * 5 + c], host[r * 7 + c]);
    }

    [Fact]
    public void CopyAndAddRunInQueueOrder()
    {
        var d = _mesh.Devices[0];
        var x = RoundToFloat(Reference.Random(new Random(1), 4 * 9));
        var y = RoundToFloat(Reference.Random(new Random(2), 4 * 9));
        var xv = Upload(d, x, 4, 9, stride: 11);
        var yv = Upload(d, y, 4, 9);
        var z = Alloc(d, 4, 9, stride: 10, offset: 1);
        d.Copy(xv, z);
        d.Add(yv, z);
        d.Add(yv, z);
        var expected = new double[x.Length];
        for (int i = 0; i < x.Length; i++) expected[i] = x[i] + 2 * y[i];
        AssertClose(Download(z), expected, 1e-6, "copy+add");
    }

    [Fact]
    public void KernelFailureSurfacesAtSynchronizeAndDeviceStillWorks()
    {
        var d = (CpuDevice)_mesh.Devices[0];
        var a = Upload(d, new double[] { 1, 2, 3, 4 }, 2, 2);
        var c = Alloc(d, 2, 2);
        d.Enqueue(() => throw new InvalidOperationException("boom"));
        d.Gemm(a, false, a, false, c, false); // still runs after the failure
        var e = Assert.Throws<DeviceKernelException>(() => d.Synchronize());
        Assert.Contains("cpu:0", e.Message);
        Assert.Contains("boom", e.Message);
        Assert.IsType<InvalidOperationException>(e.InnerException);

        d.Synchronize(); // the failure was reported once
        Assert.Equal(new float[] { 7, 10, 15, 22 }, Download(c));

        d.Enqueue(() => throw new ArithmeticException("second"));
        var e2 = Assert.Throws<DeviceKernelException>(() => Download(c));
        Assert.IsType<ArithmeticException>(e2.InnerException);
        d.Gemm(a, true, a, false, c, false);
        Assert.Equal(new float[] { 10, 14, 14, 20 }, Download(c));
    }

    [Fact]
    public void ShapeMismatchThrowsAtEnqueue()
    {
        var d = _mesh.Devices[0];
        var a = Alloc(d, 3, 4);
        var b = Alloc(d, 5, 6);
        var c = Alloc(d, 3, 6);
        var e = Assert.Throws<ArgumentException>(() => d.Gemm(a, false, b, false, c, false));
        Assert.Contains("inner dimensions", e.Message);
        e = Assert.Throws<ArgumentException>(() => d.Gemm(a, true, Alloc(d, 4, 6), false, c, false));
        Assert.Contains("rows", e.Message);
        e = Assert.Throws<ArgumentException>(() => d.Gemm(a, false, Alloc(d, 4, 6), false, c, false, Alloc(d, 1, 5)));
        Assert.Contains("Bias", e.Message);
        Assert.Throws<ArgumentException>(() => d.Copy(a, c));
        Assert.Throws<ArgumentException>(() => d.Add(a, c));
        // A view running past its buffer.
        var bad = new MatrixView(a.Buffer, 2, 3, 4, 4);
        e = Assert.Throws<ArgumentException>(() => d.Copy(bad, a));
        Assert.Contains("past the buffer", e.Message);
        d.Synchronize(); // nothing was enqueued, nothing failed
    }

    [Fact]
    public void ViewFromAnotherDeviceThrowsAtEnqueue()
    {
        var d0 = _mesh.Devices[0];
        var d1 = _mesh.Devices[1];
        var a = Alloc(d0, 2, 2);
        var foreign = Alloc(d1, 2, 2);
        var e = Assert.Throws<ArgumentException>(() => d0.Gemm(a, false, foreign, false, Alloc(d0, 2, 2), false));
        Assert.Contains("cpu:1", e.Message);
        Assert.Contains("cpu:0", e.Message);
        Assert.Throws<ArgumentException>(() => d0.Copy(foreign, a));
        Assert.Throws<ArgumentException>(() => d1.Upload(new float[4], 2, a));
        d0.Synchronize();
    }

    [Fact]
    public void OverlappingOutputIsRejectedButDisjointColumnBlocksAreFine()
    {
        var d = _mesh.Devices[0];
        var buf = d.Allocate(8 * 8).AsMatrix(8, 8);
        Assert.Throws<ArgumentException>(() => d.Gemm(buf.Slice(0, 0, 4, 4), false, buf.Slice(0, 0, 4, 4), false, buf.Slice(2, 2, 4, 4), false));
        d.Gemm(buf.Slice(0, 0, 8, 4), false, Alloc(d, 4, 4), false, buf.Slice(0, 4, 8, 4), false);
        d.Synchronize();
    }

    [Fact]
    public void NonSquareMeshHasNoGrid()
    {
        using var three = CpuDeviceMesh.Create(3);
        var e = Assert.Throws<InvalidOperationException>(() => three.Grid);
        Assert.Contains("not square", e.Message);
        using var four = CpuDeviceMesh.Create(4);
        Assert.Equal(2, four.Grid.Q);
        Assert.Same(four.Grid, four.Grid);
    }

    [Fact]
    public void DisposedBufferIsFreedAfterQueuedWork()
    {
        var d = _mesh.Devices[0];
        var a = Upload(d, new double[] { 1, 2, 3, 4 }, 2, 2);
        var c = Alloc(d, 2, 2);
        d.Gemm(a, false, a, false, c, false);
        a.Buffer.Dispose(); // ordered after the GEMM
        Assert.Equal(new float[] { 7, 10, 15, 22 }, Download(c));
        Assert.Throws<ObjectDisposedException>(() => d.Copy(a, c));
    }
}
