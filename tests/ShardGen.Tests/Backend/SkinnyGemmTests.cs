using System;
using ShardGen.Cpu;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>
/// GEMMs of 1 … 9 rows of A (decoding's projections and the tied head's transposed B; 9 rows takes the packed path)
/// against the double reference, with every epilogue, accumulate, odd sizes and strided views, on one thread and
/// split over a team.
/// </summary>
public class SkinnyGemmTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);
    private readonly CpuDeviceMesh _threaded = CpuDeviceMesh.Create(1, threadsPerDevice: 3);
    private readonly CpuDeviceMesh _pair = CpuDeviceMesh.Create(1, threadsPerDevice: 2);

    /// <summary>Prefix of the failure messages: which body of the kernel ran.</summary>
    protected virtual string Body => "";

    public virtual void Dispose()
    {
        _mesh.Dispose();
        _threaded.Dispose();
        _pair.Dispose();
    }

    public static TheoryData<int> Rows() => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

    [Theory]
    [MemberData(nameof(Rows))]
    public void FewRowsMatchReferenceForOddSizes(int m)
    {
        foreach (var (n, k) in new[] { (1, 1), (15, 7), (17, 8), (33, 9), (100, 17), (1003, 129) })
        foreach (bool tb in new[] { false, true })
        {
            int seed = System.Random.Shared.Next();
            var (actual, expected) = GemmTests.RunGemm(_mesh.Devices[0], m, n, k, false, tb, seed: seed, pad: 3, offset: 1);
            AssertClose(actual, expected, 1e-5, $"{Body}{m}x{n}x{k} tb={tb} seed={seed}");
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void FewRowsWithEpilogueAndAccumulateSplitOverATeam(int m)
    {
        foreach (Activation act in Enum.GetValues<Activation>())
        foreach (bool tb in new[] { false, true })
        {
            int seed = System.Random.Shared.Next();
            // 1003 × 211: enough work for the team, columns not a multiple of 16 and a depth not a multiple of 8.
            var (actual, expected) = GemmTests.RunGemm(_threaded.Devices[0], m, 1003, 211, false, tb,
                accumulate: seed % 2 == 0, bias: act != Activation.Relu, act: act, seed: seed, pad: 2, offset: 5);
            AssertClose(actual, expected, 1e-5, $"{Body}{m} rows {act} tb={tb} seed={seed}");
        }
    }

    [Fact]
    public void TransposedALeavesThePackedPath()
    {
        foreach (int m in new[] { 1, 5 })
        {
            int seed = System.Random.Shared.Next();
            var (actual, expected) = GemmTests.RunGemm(_mesh.Devices[0], m, 37, 50, true, true, accumulate: true, bias: true, act: Activation.Silu, seed: seed);
            AssertClose(actual, expected, 1e-5, $"{m} rows transposed A seed={seed}");
        }
    }

    [Theory]
    [MemberData(nameof(SkinnyRows))]
    public void TilesMatchReferenceOnLongOddRowsWideStridesAndTeams(int m)
    {
        // K = 1003: whole vectors, then 11 left (tail of every dot; a last pass of 3 rows of B). N = 211: row-major
        // tiles of 64 columns, then one vector, then 3 scalars; transposed: 52 blocks of four rows of B, then 3 rows.
        // ld = width (transposed B contiguous: the four row streams a quarter of N apart), width + 1, and width + 1009: B
        // and C as a column slice of a far wider matrix (a 2-device o or down projection).
        foreach (var mesh in new[] { _mesh, _pair })
        foreach (bool tb in new[] { false, true })
        foreach (int pad in new[] { 0, 1, 1009 })
        {
            int seed = System.Random.Shared.Next();
            var (actual, expected) = GemmTests.RunGemm(mesh.Devices[0], m, 211, 1003, false, tb, accumulate: seed % 2 == 0,
                seed: seed, pad: pad, offset: 7);
            AssertClose(actual, expected, 1e-5, $"{Body}{m}x211x1003 tb={tb} pad={pad} threads={(mesh == _pair ? 2 : 1)} seed={seed}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(8)]
    public void RowMajorChunksOfCBeyondOneMatchReference(int m)
    {
        // 8243 columns: more than one chunk of C (65536 floats / rows), so the chunk loop and its ragged last chunk run.
        int seed = System.Random.Shared.Next();
        var (actual, expected) = GemmTests.RunGemm(_mesh.Devices[0], m, 8243 * (m > 4 ? 1 : 2), 19, false, false, seed: seed, pad: 5, offset: 2);
        AssertClose(actual, expected, 1e-5, $"{Body}{m} rows, chunks seed={seed}");
    }

    public static TheoryData<int> SkinnyRows() => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory]
    [MemberData(nameof(SkinnyRows))]
    public void RowMajorAddsInTheOrderOfASequentialLoop(int m)
    {
        // Row-major B keeps the order of additions of c = fma(a[r, p], b[p, j], c) for p ascending at every row count:
        // bit-identical to that loop in float.
        int n = 211, k = 203, seed = System.Random.Shared.Next();
        var rng = new Random(seed);
        var a = RoundToFloat(Reference.Random(rng, m * k));
        var b = RoundToFloat(Reference.Random(rng, k * n));
        var d = _mesh.Devices[0];
        var c = d.Allocate(m * n).AsMatrix(m, n);
        d.Gemm(Upload(d, a, m, k), false, Upload(d, b, k, n), false, c, false);
        var actual = Download(c);
        for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++)
        {
            float sum = 0;
            for (int p = 0; p < k; p++) sum = MathF.FusedMultiplyAdd((float)a[r * k + p], (float)b[p * n + j], sum);
            Assert.True(sum == actual[r * n + j], $"{Body}{m} rows: c[{r}, {j}] = {actual[r * n + j]} against the sequential loop's {sum} (seed {seed})");
        }
    }
}
