using System;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

public sealed class NormalizationTests : IDisposable
{
    private const float Epsilon = 1e-5f;
    private const float Sentinel = 1234.5f;
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(2);

    public void Dispose() => _mesh.Dispose();

    public static TheoryData<NormKind, bool, bool, int> Cases()
    {
        var data = new TheoryData<NormKind, bool, bool, int>();
        foreach (var kind in new[] { NormKind.LayerNorm, NormKind.RmsNorm })
        foreach (bool beta in new[] { false, true })
        foreach (bool inPlace in new[] { false, true })
        foreach (int cols in new[] { 1, 7, 33, 512 })
            data.Add(kind, beta, inPlace, cols);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesDoubleReferenceOnStridedViews(NormKind kind, bool withBeta, bool inPlace, int cols)
    {
        int seed = System.Random.Shared.Next();
        var rng = new Random(seed);
        var d = _mesh.Devices[0];
        const int rows = 5;
        // An offset mean (rows centred on ±3) makes LayerNorm's centring matter.
        var x = Reference.Random(rng, rows * cols);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(x[i] + 3 * ((i / cols) % 2 == 0 ? 1 : -1));
        var gamma = RoundToFloat(Reference.Random(rng, cols));
        var beta = withBeta ? RoundToFloat(Reference.Random(rng, cols)) : null;

        var xv = UploadPadded(d, x, rows, cols, stride: cols + 3, offset: 2);
        var yv = inPlace ? xv : UploadPadded(d, new double[rows * cols], rows, cols, stride: cols + 5, offset: 1);
        var gv = Upload(d, gamma, 1, cols, offset: 3);
        MatrixView? bv = beta is null ? null : Upload(d, beta, 1, cols);
        d.Normalize(xv, yv, kind, gv, bv, Epsilon);

        var expected = Reference.Normalize(x, rows, cols, kind, gamma, beta, Epsilon);
        string what = $"{kind} beta={withBeta} inPlace={inPlace} cols={cols} seed={seed}";
        AssertClose(Download(yv), expected, 1e-5, what);
        AssertPaddingUntouched(yv, what);
        if (!inPlace)
        {
            Assert.Equal(ToFloat(x), Download(xv));
            AssertPaddingUntouched(xv, what);
        }
    }

    [Fact]
    public void RmsNormIgnoresBeta()
    {
        int seed = System.Random.Shared.Next();
        var rng = new Random(seed);
        var d = _mesh.Devices[1];
        const int rows = 3, cols = 40;
        var x = RoundToFloat(Reference.Random(rng, rows * cols));
        var gamma = RoundToFloat(Reference.Random(rng, cols));
        var xv = Upload(d, x, rows, cols);
        var gv = Upload(d, gamma, 1, cols);
        var without = Alloc(d, rows, cols);
        var with = Alloc(d, rows, cols);
        d.Normalize(xv, without, NormKind.RmsNorm, gv, null, Epsilon);
        d.Normalize(xv, with, NormKind.RmsNorm, gv, Upload(d, Reference.Random(rng, cols), 1, cols), Epsilon);
        Assert.Equal(Download(without), Download(with));
        AssertClose(Download(with), Reference.Normalize(x, rows, cols, NormKind.RmsNorm, gamma, null, Epsilon), 1e-5, $"seed={seed}");
    }

    [Fact]
    public void EpsilonIsAddedToTheVariance()
    {
        // A constant row has zero variance: LayerNorm gives β, and the result stays finite only thanks to ε.
        var d = _mesh.Devices[0];
        const int cols = 20;
        var x = new double[cols];
        Array.Fill(x, 2.5);
        var xv = Upload(d, x, 1, cols);
        var gamma = new double[cols];
        Array.Fill(gamma, 1.0);
        var beta = new double[cols];
        for (int i = 0; i < cols; i++) beta[i] = i;
        var y = Alloc(d, 1, cols);
        d.Normalize(xv, y, NormKind.LayerNorm, Upload(d, gamma, 1, cols), Upload(d, beta, 1, cols), 1e-5f);
        AssertClose(Download(y), beta, 1e-6, "constant row");
        // Large ε dominates: RmsNorm of 2.5 with ε = 100 is 2.5/√(6.25 + 100).
        d.Normalize(xv, y, NormKind.RmsNorm, Upload(d, gamma, 1, cols), null, 100f);
        var expected = new double[cols];
        Array.Fill(expected, 2.5 / Math.Sqrt(106.25));
        AssertClose(Download(y), expected, 1e-6, "large epsilon");
    }

    [Fact]
    public void BadArgumentsThrowAtEnqueueAndTheDeviceKeepsWorking()
    {
        var d = _mesh.Devices[0];
        var other = _mesh.Devices[1];
        var xs = RoundToFloat(Reference.Random(new Random(1), 4 * 6));
        var gs = RoundToFloat(Reference.Random(new Random(2), 6));
        var x = Upload(d, xs, 4, 6);
        var y = Alloc(d, 4, 6);
        var gamma = Upload(d, gs, 1, 6);

        AssertThrows(() => d.Normalize(x, Alloc(d, 4, 5), NormKind.LayerNorm, gamma, null, Epsilon), "4×6", "4×5");
        AssertThrows(() => d.Normalize(x, y, NormKind.LayerNorm, Alloc(d, 1, 5), null, Epsilon), "gamma must be 1×6");
        AssertThrows(() => d.Normalize(x, y, NormKind.LayerNorm, Alloc(d, 2, 6), null, Epsilon), "gamma must be 1×6", "2×6");
        AssertThrows(() => d.Normalize(x, y, NormKind.LayerNorm, gamma, Alloc(d, 1, 7), Epsilon), "beta must be 1×6");
        AssertThrows(() => d.Normalize(x, y, NormKind.RmsNorm, gamma, Alloc(d, 6, 1), Epsilon), "beta must be 1×6");
        AssertThrows(() => d.Normalize(x, y, NormKind.LayerNorm, Alloc(other, 1, 6), null, Epsilon), "cpu:1");
        AssertThrows(() => d.Normalize(Alloc(other, 4, 6), y, NormKind.LayerNorm, gamma, null, Epsilon), "cpu:1");
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Normalize(x, y, (NormKind)7, gamma, null, Epsilon));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Normalize(x, y, NormKind.LayerNorm, gamma, null, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Normalize(x, y, NormKind.LayerNorm, gamma, null, float.NaN));
        // y shifted by one row over x would read rows it already overwrote.
        var big = Alloc(d, 5, 6);
        AssertThrows(() => d.Normalize(big.RowsOf(0, 4), big.RowsOf(1, 4), NormKind.RmsNorm, gamma, null, Epsilon), "overlaps");
        AssertThrows(() => d.Normalize(x, x, NormKind.LayerNorm, x.RowsOf(0, 1), null, Epsilon), "gamma");

        // Nothing was enqueued, so nothing fails later, and the device still computes.
        d.Synchronize();
        d.Normalize(x, y, NormKind.LayerNorm, gamma, null, Epsilon);
        AssertClose(Download(y), Reference.Normalize(xs, 4, 6, NormKind.LayerNorm, gs, null, Epsilon), 1e-5, "after bad calls");
    }

    internal static void AssertThrows(Action call, params string[] fragments)
    {
        var e = Assert.ThrowsAny<ArgumentException>(call);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }

    /// <summary>Uploads into a buffer whose every element starts as <see cref="Sentinel"/>, so stray writes show.</summary>
    private static MatrixView UploadPadded(Device d, double[] values, int rows, int cols, int stride, int offset)
    {
        var whole = Alloc(d, 1, offset + (rows - 1) * stride + cols + 4);
        var fill = new float[whole.Cols];
        Array.Fill(fill, Sentinel);
        d.Upload(fill, whole.Cols, whole);
        var v = new MatrixView(whole.Buffer, offset, rows, cols, stride);
        d.Upload(ToFloat(values), cols, v);
        return v;
    }

    private static void AssertPaddingUntouched(MatrixView v, string what)
    {
        var whole = new MatrixView(v.Buffer, 0, 1, v.Buffer.Length, v.Buffer.Length);
        var all = Download(whole);
        for (int i = 0; i < all.Length; i++)
        {
            int rel = i - v.Offset;
            bool inside = rel >= 0 && rel / v.Stride < v.Rows && rel % v.Stride < v.Cols;
            if (!inside) Assert.True(all[i] == Sentinel, $"{what}: element {i} outside the view changed to {all[i]}");
        }
    }
}
