using System;
using System.Linq;
using ShardGen.Algorithms;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Planning;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

public sealed class SummaTests
{
    public static TheoryData<SummaVariant, int, int> Cases()
    {
        var data = new TheoryData<SummaVariant, int, int>();
        foreach (var v in new[] { SummaVariant.AB, SummaVariant.ABt, SummaVariant.AtB })
        foreach (int q in new[] { 1, 2, 3 })
        foreach (int m in new[] { 1, 5, 12 })
            data.Add(v, q, m);
        return data;
    }

    /// <summary>Block (r, c) of a stored [rows, cols] matrix, cut by EvenRanges on both dimensions.</summary>
    private static double[] Block(double[] x, int rows, int cols, int q, int r, int c, out int br, out int bc)
    {
        int r0 = EvenRanges.Start(rows, q, r), c0 = EvenRanges.Start(cols, q, c);
        br = EvenRanges.Length(rows, q, r);
        bc = EvenRanges.Length(cols, q, c);
        var block = new double[br * bc];
        for (int i = 0; i < br; i++)
        for (int j = 0; j < bc; j++)
            block[i * bc + j] = x[(r0 + i) * cols + c0 + j];
        return block;
    }

    private static MatrixView[] Distribute(DeviceGrid grid, double[] x, int rows, int cols)
    {
        var views = new MatrixView[grid.Mesh.Size];
        for (int rank = 0; rank < views.Length; rank++)
        {
            var block = Block(x, rows, cols, grid.Q, grid.GridRowOf(rank), grid.GridColumnOf(rank), out int br, out int bc);
            views[rank] = Upload(grid.Mesh.Devices[rank], block, br, bc);
        }
        return views;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyMatchesReferenceAndPredictedBytes(SummaVariant variant, int q, int m)
    {
        const int n = 7, k = 10;
        using var mesh = CpuDeviceMesh.Create(q * q);
        var grid = mesh.Grid;
        var rng = new Random(q * 100 + m * 10 + (int)variant);
        // Stored shapes: A is [M,K] (AB, ABt) or [K,M] (AtB); B is [K,N] (AB, AtB) or [N,K] (ABt).
        bool ta = variant == SummaVariant.AtB, tb = variant == SummaVariant.ABt;
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        var a = RoundToFloat(Reference.Random(rng, aRows * aCols));
        var b = RoundToFloat(Reference.Random(rng, bRows * bCols));
        var av = Distribute(grid, a, aRows, aCols);
        var bv = Distribute(grid, b, bRows, bCols);
        // C starts as garbage: SUMMA must overwrite it.
        var cv = Distribute(grid, Reference.Random(rng, m * n), m, n);

        mesh.Stats.Reset();
        Summa.Multiply(grid, variant, av, bv, cv);
        mesh.Synchronize();

        var expected = MatMul(a, aCols, ta, b, bCols, tb, m, n, k);
        for (int rank = 0; rank < mesh.Size; rank++)
        {
            var block = Block(expected, m, n, q, grid.GridRowOf(rank), grid.GridColumnOf(rank), out _, out _);
            AssertClose(Download(cv[rank]), block, 1e-5, $"{variant} q={q} m={m} rank {rank}");
        }
        Assert.Equal(Summa.PredictTotalBytes(variant, q, m, n, k), mesh.Stats.TotalBytesSent);
        Assert.Equal(mesh.Stats.Records.Sum(r => r.TotalBytesSent), mesh.Stats.TotalBytesSent);
        // Inputs are left as they were.
        for (int rank = 0; rank < mesh.Size; rank++)
        {
            var block = Block(a, aRows, aCols, q, grid.GridRowOf(rank), grid.GridColumnOf(rank), out _, out _);
            Assert.Equal(ToFloat(block), Download(av[rank]));
        }
    }

    [Fact]
    public void PredictedBytesFollowTheFormulas()
    {
        Assert.Equal(0, Summa.PredictTotalBytes(SummaVariant.AB, 1, 8, 8, 8));
        Assert.Equal(4L * 1 * (3 * 5 + 5 * 7), Summa.PredictTotalBytes(SummaVariant.AB, 2, 3, 7, 5));
        Assert.Equal(4L * 2 * (5 * 7 + 3 * 7), Summa.PredictTotalBytes(SummaVariant.ABt, 3, 3, 7, 5));
        Assert.Equal(4L * 2 * (5 * 3 + 3 * 7), Summa.PredictTotalBytes(SummaVariant.AtB, 3, 3, 7, 5));
    }

    [Fact]
    public void WrongBlockShapeIsRejected()
    {
        using var mesh = CpuDeviceMesh.Create(4);
        var grid = mesh.Grid;
        var a = Distribute(grid, new double[4 * 6], 4, 6);
        var b = Distribute(grid, new double[6 * 2], 6, 2);
        var c = Distribute(grid, new double[4 * 2], 4, 2);
        c[3] = Alloc(mesh.Devices[3], 1, 1);
        var e = Assert.Throws<ArgumentException>(() => Summa.Multiply(grid, SummaVariant.AB, a, b, c));
        Assert.Contains("rank 3", e.Message);
        Assert.Throws<ArgumentException>(() => Summa.Multiply(grid, SummaVariant.AB, a, b, c.Take(3).ToArray()));
    }
}
