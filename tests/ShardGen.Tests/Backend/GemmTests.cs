using System;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

public sealed class GemmTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);

    public void Dispose() => _mesh.Dispose();

    /// <summary>Runs one GEMM on <paramref name="device"/> and returns its result with the double reference.</summary>
    internal static (float[] Actual, double[] Expected) RunGemm(Device device, int m, int n, int k, bool ta, bool tb,
        bool accumulate = false, bool bias = false, Activation act = Activation.None, int seed = 1, int pad = 0, int offset = 0)
    {
        var rng = new Random(seed);
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        var a = RoundToFloat(Reference.Random(rng, aRows * aCols));
        var b = RoundToFloat(Reference.Random(rng, bRows * bCols));
        var c0 = RoundToFloat(Reference.Random(rng, m * n));
        var bv = RoundToFloat(Reference.Random(rng, n));

        var av = Upload(device, a, aRows, aCols, aCols + pad, offset);
        var bvw = Upload(device, b, bRows, bCols, bCols + pad, offset);
        var cv = Upload(device, c0, m, n, n + pad, offset);
        MatrixView? biasView = bias ? Upload(device, bv, 1, n) : null;
        device.Gemm(av, ta, bvw, tb, cv, accumulate, biasView, act);
        var actual = Download(cv);

        var expected = MatMul(a, aCols, ta, b, bCols, tb, m, n, k);
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double x = expected[i * n + j] + (accumulate ? c0[i * n + j] : 0) + (bias ? bv[j] : 0);
            expected[i * n + j] = Activate(x, act);
        }
        return (actual, expected);
    }

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 1, 4096, 17 }, { 7, 13, 5 }, { 130, 257, 129 }, { 6, 64, 300 }, { 12, 128, 1 }, { 3, 4, 0 },
        { 29, 83, 801 }, // K past two KC slices, ragged 8×8 transpose blocks
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void AllTransposeCombinationsMatchReference(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        {
            var (actual, expected) = RunGemm(_mesh.Devices[0], m, n, k, ta, tb, seed: m * 31 + n + k);
            AssertClose(actual, expected, 1e-5, $"{m}x{n}x{k} ta={ta} tb={tb}");
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void StridedOffsetViewsMatchReferenceAndLeavePaddingAlone(bool ta, bool tb)
    {
        var d = _mesh.Devices[0];
        var (actual, expected) = RunGemm(d, 37, 70, 45, ta, tb, accumulate: true, pad: 5, offset: 3, seed: 7);
        AssertClose(actual, expected, 1e-5, "strided");

        // The gaps between rows of a strided C must survive the GEMM untouched.
        var buffer = d.Allocate(3 + 9 * 12);
        var whole = buffer.AsMatrix(1, 3 + 9 * 12);
        var sentinel = new float[whole.Cols];
        Array.Fill(sentinel, 42f);
        d.Upload(sentinel, whole.Cols, whole);
        var c = new MatrixView(buffer, 3, 9, 7, 12);
        var a = Upload(d, Reference.Random(new Random(3), 9 * 4), 9, 4);
        var b = Upload(d, Reference.Random(new Random(4), 4 * 7), 4, 7);
        d.Gemm(a, false, b, false, c, false, null, Activation.Relu);
        var after = Download(whole);
        for (int i = 0; i < after.Length; i++)
        {
            int rel = i - 3;
            bool inside = rel >= 0 && rel / 12 < 9 && rel % 12 < 7;
            if (!inside) Assert.Equal(42f, after[i]);
            else Assert.True(after[i] >= 0f);
        }
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 13, 5)]
    [InlineData(70, 90, 300)]
    public void AccumulateAddsToExistingC(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
        {
            var (actual, expected) = RunGemm(_mesh.Devices[0], m, n, k, ta, !ta, accumulate: true, seed: k);
            AssertClose(actual, expected, 1e-5, $"accumulate ta={ta}");
        }
    }

    [Theory]
    [InlineData(96, 300, 64)]  // enough column tiles: split along N
    [InlineData(500, 17, 100)] // one column tile: split along M
    public void TwoThreadsPerDeviceGiveTheSameResult(int m, int n, int k)
    {
        using var two = CpuDeviceMesh.Create(1, threadsPerDevice: 2);
        Assert.Equal(2, ((CpuDevice)two.Devices[0]).Threads);
        var (one, expected) = RunGemm(_mesh.Devices[0], m, n, k, false, true, bias: true, act: Activation.Gelu, seed: 5);
        var (split, _) = RunGemm(two.Devices[0], m, n, k, false, true, bias: true, act: Activation.Gelu, seed: 5);
        AssertClose(split, expected, 1e-5, "two threads");
        // Each element is summed in the same order whatever the split, so the results are bit-identical.
        Assert.Equal(one, split);
    }
}
