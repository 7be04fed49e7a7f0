using System;
using ShardGen.Cpu;
using ShardGen.Kernels;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>
/// The decode GEMM's AVX2 body, forced on this AVX-512 machine (<see cref="SkinnyGemm.ForceVector256"/>), against the
/// double reference: 1 … 8 rows, odd sizes (ragged edges of one 8-float vector), both layouts of B, epilogues and
/// accumulate, on one thread and over a team. Other tests running meanwhile merely take the AVX2 body too.
/// </summary>
[Collection(nameof(SkinnyGemmVector256Tests))]
public sealed class SkinnyGemmVector256Tests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);
    private readonly CpuDeviceMesh _threaded = CpuDeviceMesh.Create(1, threadsPerDevice: 3);

    public SkinnyGemmVector256Tests() => SkinnyGemm.ForceVector256 = true;

    public void Dispose()
    {
        SkinnyGemm.ForceVector256 = false;
        _mesh.Dispose();
        _threaded.Dispose();
    }

    public static TheoryData<int> Rows() => new() { 1, 2, 3, 5, 8 };

    [Theory]
    [MemberData(nameof(Rows))]
    public void FewRowsMatchReferenceForOddSizes(int m)
    {
        foreach (var (n, k) in new[] { (1, 1), (7, 7), (9, 8), (23, 9), (100, 17), (1003, 129) })
        foreach (bool tb in new[] { false, true })
        {
            int seed = System.Random.Shared.Next();
            var (actual, expected) = GemmTests.RunGemm(_mesh.Devices[0], m, n, k, false, tb, seed: seed, pad: 3, offset: 1);
            AssertClose(actual, expected, 1e-5, $"AVX2 {m}x{n}x{k} tb={tb} seed={seed}");
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
            var (actual, expected) = GemmTests.RunGemm(_threaded.Devices[0], m, 1003, 211, false, tb,
                accumulate: seed % 2 == 0, bias: act != Activation.Relu, act: act, seed: seed, pad: 2, offset: 5);
            AssertClose(actual, expected, 1e-5, $"AVX2 {m} rows {act} tb={tb} seed={seed}");
        }
    }
}
