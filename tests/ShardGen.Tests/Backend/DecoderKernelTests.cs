using System;
using System.Threading;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>Embedding lookup, rotary positions and the gated activation against naive double loops.</summary>
public sealed class DecoderKernelTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(2);

    public void Dispose() => _mesh.Dispose();

    // ---------------------------------------------------------------- Gather

    [Theory]
    [InlineData(0, 7)]
    [InlineData(5, 4)]
    [InlineData(1000, 13)]
    public void GatherCopiesTheShardsRowsAndZerosTheOthers(int firstRow, int tableRows)
    {
        var d = _mesh.Devices[0];
        int seed = System.Random.Shared.Next(), cols = 19;
        var rng = new Random(seed);
        var table = Random(rng, tableRows * cols);
        // Every boundary: just before the shard, its first and last rows, just past it, and far away.
        var ids = new[] { firstRow, firstRow + tableRows - 1, firstRow + tableRows, Math.Max(0, firstRow - 1), 0, int.MaxValue,
            firstRow + tableRows / 2, firstRow, rng.Next(0, firstRow + 2 * tableRows) };
        var tv = Upload(d, table, tableRows, cols, stride: cols + 3, offset: 2);
        var ov = Alloc(d, ids.Length, cols, stride: cols + 1, offset: 1);
        d.Upload(ToFloat(Random(rng, ids.Length * (cols + 1))), cols + 1, ov); // stale values must be overwritten
        d.Gather(ids, firstRow, tv, ov);
        var expected = Reference.Gather(table, tableRows, cols, ids, firstRow);
        Assert.Equal(Array.ConvertAll(expected, v => (float)v), Download(ov));
    }

    [Fact]
    public void GatherCopiesTheIdsAtEnqueue()
    {
        var d = (CpuDevice)_mesh.Devices[0];
        var table = Random(new Random(3), 4 * 5);
        var tv = Upload(d, table, 4, 5);
        var ov = Alloc(d, 2, 5);
        var ids = new[] { 1, 3 };
        using var gate = new ManualResetEventSlim();
        try
        {
            d.Enqueue(() => gate.Wait(TimeSpan.FromSeconds(10)));
            d.Gather(ids, 0, tv, ov);
            ids[0] = 2;
        }
        finally
        {
            gate.Set();
        }
        var got = Download(ov);
        for (int c = 0; c < 5; c++) Assert.Equal((float)table[1 * 5 + c], got[c]);
    }

    [Fact]
    public void GatherBadArgumentsThrowAtEnqueue()
    {
        var d = _mesh.Devices[0];
        var table = Alloc(d, 4, 5);
        var output = Alloc(d, 2, 5);
        NormalizationTests.AssertThrows(() => d.Gather(new[] { 1 }, 0, table, output), "output must be 1×5", "2×5");
        NormalizationTests.AssertThrows(() => d.Gather(new[] { 1, 2 }, 0, table, Alloc(d, 2, 6)), "output must be 2×5");
        NormalizationTests.AssertThrows(() => d.Gather(new[] { 1, -2 }, 0, table, output), "id 1 is -2");
        NormalizationTests.AssertThrows(() => d.Gather(new[] { 1, 2 }, -1, table, output), "first row");
        NormalizationTests.AssertThrows(() => d.Gather(null!, 0, table, output), "ids");
        NormalizationTests.AssertThrows(() => d.Gather(new[] { 1, 2 }, 0, table, Alloc(_mesh.Devices[1], 2, 5)), "cpu:1");
        NormalizationTests.AssertThrows(() => d.Gather(new[] { 1 }, 0, table, table.RowsOf(2, 1)), "overlap");
        d.Synchronize();
    }

    // ---------------------------------------------------------------- Rotary

    public static TheoryData<int, int, float, int[]> RotaryCases() => new()
    {
        { 1, 2, 10000f, new[] { 0 } },
        { 3, 8, 10000f, new[] { 5, 6, 7, 8 } },
        { 4, 64, 10000f, new[] { 17, 18, 19, 20, 21 } },
        { 2, 128, 500000f, new[] { 1, 3, 1001, 4095, 7 } },
        { 5, 36, 500000f, new[] { 9999, 0, 33, 12345 } },
        { 2, 10, 10000f, new[] { 100, 101 } },
    };

    [Theory]
    [MemberData(nameof(RotaryCases))]
    public void RotaryMatchesTheHuggingFaceFormula(int heads, int headDim, float theta, int[] positions)
    {
        var d = _mesh.Devices[1];
        int seed = System.Random.Shared.Next(), extra = 7, cols = heads * headDim + extra, rows = positions.Length;
        var x = RoundToFloat(Random(new Random(seed), rows * cols));
        var xv = Upload(d, x, rows, cols, stride: cols + 2, offset: 1);
        d.Rotary(xv, heads, headDim, positions, theta);
        var actual = Download(xv);
        var expected = Reference.Rotary(x, rows, cols, heads, headDim, positions, theta, floatAngles: true);
        AssertClose(actual, expected, 1e-6, $"heads {heads} dim {headDim} θ {theta} seed={seed}");
        // Columns past the rotated heads (the v part of a fused matrix) are untouched.
        for (int t = 0; t < rows; t++)
        for (int c = heads * headDim; c < cols; c++)
            Assert.Equal((float)x[t * cols + c], actual[t * cols + c]);
        // Near position 0 the float32 angles of the convention are the exact ones to a few ulps.
        if (positions[0] < 64)
        {
            var exact = Reference.Rotary(x, 1, cols, heads, headDim, positions[..1], theta, floatAngles: false);
            AssertClose(actual.AsSpan(0, cols), exact, 2e-5, $"exact angles, seed={seed}");
        }
    }

    [Fact]
    public void RotaryBadArgumentsThrowAtEnqueue()
    {
        var d = _mesh.Devices[0];
        var x = Alloc(d, 3, 24);
        var pos = new[] { 0, 1, 2 };
        NormalizationTests.AssertThrows(() => d.Rotary(x, 3, 7, pos, 1e4f), "even");
        NormalizationTests.AssertThrows(() => d.Rotary(x, 0, 8, pos, 1e4f), "heads");
        NormalizationTests.AssertThrows(() => d.Rotary(x, 4, 8, pos, 1e4f), "32 columns", "3×24");
        NormalizationTests.AssertThrows(() => d.Rotary(x, 3, 8, new[] { 0, 1 }, 1e4f), "2 positions", "3 rows");
        NormalizationTests.AssertThrows(() => d.Rotary(x, 3, 8, new[] { 0, -1, 2 }, 1e4f), "position 1 is -1");
        NormalizationTests.AssertThrows(() => d.Rotary(x, 3, 8, pos, 0f), "θ");
        NormalizationTests.AssertThrows(() => d.Rotary(x, 3, 8, pos, float.NaN), "θ");
        NormalizationTests.AssertThrows(() => d.Rotary(x, 3, 8, null!, 1e4f), "positions");
        d.Synchronize();
    }

    // ---------------------------------------------------------------- GatedActivation

    public static TheoryData<Activation, int, int> GatedCases()
    {
        var data = new TheoryData<Activation, int, int>();
        foreach (Activation a in Enum.GetValues<Activation>())
        foreach (var (rows, n) in new[] { (1, 1), (3, 37), (5, 64) })
            data.Add(a, rows, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(GatedCases))]
    public void GatedActivationIsActOfGateTimesUp(Activation activation, int rows, int n)
    {
        var d = _mesh.Devices[0];
        int seed = System.Random.Shared.Next();
        var gu = Random(new Random(seed), rows * 2 * n);
        for (int i = 0; i < gu.Length; i++) gu[i] = (float)(gu[i] * 4);
        var gv = Upload(d, gu, rows, 2 * n, stride: 2 * n + 3, offset: 2);
        var ov = Alloc(d, rows, n, stride: n + 1, offset: 3);
        d.GatedActivation(gv, ov, activation);
        var expected = new double[rows * n];
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
            expected[r * n + j] = Activate(gu[r * 2 * n + j], activation) * gu[r * 2 * n + n + j];
        AssertClose(Download(ov), expected, 1e-5, $"{activation} {rows}×{n} seed={seed}");
    }

    [Fact]
    public void GatedActivationBadArgumentsThrowAtEnqueue()
    {
        var d = _mesh.Devices[0];
        var gu = Alloc(d, 3, 10);
        NormalizationTests.AssertThrows(() => d.GatedActivation(Alloc(d, 3, 9), Alloc(d, 3, 4), Activation.Silu), "even width");
        NormalizationTests.AssertThrows(() => d.GatedActivation(gu, Alloc(d, 3, 4), Activation.Silu), "output must be 3×5", "3×4");
        NormalizationTests.AssertThrows(() => d.GatedActivation(gu, Alloc(d, 2, 5), Activation.Silu), "output must be 3×5");
        NormalizationTests.AssertThrows(() => d.GatedActivation(gu, gu.Columns(5, 5), Activation.Silu), "overlap");
        Assert.Throws<ArgumentOutOfRangeException>(() => d.GatedActivation(gu, Alloc(d, 3, 5), (Activation)42));
        d.Synchronize();
    }
}
