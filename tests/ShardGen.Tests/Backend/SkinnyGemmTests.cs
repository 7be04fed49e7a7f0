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

    /// <summary>Prefix of the failure messages: which body of the kernel ran.</summary>
    protected virtual string Body => "";

    public virtual void Dispose()
    {
        _mesh.Dispose();
        _threaded.Dispose();
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
}
