using System;
using System.Collections.Generic;
using ShardGen.Kernels;
using static ShardGen.Tests.Backend.Bf16Gemm;

namespace ShardGen.Tests.Backend;

/// <summary>
/// GEMMs whose B is bfloat16 (a BF16 checkpoint's weights kept as stored) against the double reference on the widened
/// weights (<see cref="Bf16Gemm"/>): the decode kernel (1 … 8 rows of A, both orientations of B, rows off their line at
/// every 2-byte shift, ragged K and N, ld &gt; K, one thread and a team of two) and the blocked kernel (more rows: B
/// widened while packed), with accumulate, bias and every activation.
/// </summary>
public class Bf16GemmTests : IDisposable
{
    private readonly KernelThreadTeam _pair = new(2, "bf16 gemm test");

    /// <summary>Prefix of the failure messages: which body of the decode kernel ran.</summary>
    protected virtual string Body => "";

    public virtual void Dispose() => _pair.Dispose();

    public static TheoryData<int> Rows() => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    private static readonly int[] Depths = [1, 15, 17, 100, 2048 + 3];
    private static readonly int[] Widths = [1, 7, 33, 130];

    private static int Seed() => Random.Shared.Next();

    [Theory]
    [MemberData(nameof(Rows))]
    public void FewRowsMatchReferenceForRaggedSizesBothOrientations(int m)
    {
        foreach (bool tb in new[] { true, false })
        foreach (int k in Depths)
        foreach (int n in Widths)
        foreach (int pad in new[] { 0, 5 })
        {
            int seed = Seed();
            AssertMatches(new Case(m, n, k, tb, LdbPad: pad, Shift: seed % 32, Seed: seed), null, Body);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void TransposedRowsOffTheirLineAtEveryShiftKeepThePoisonOut(int m)
    {
        // K = 64: one vector of 32 (512-bit) past the first; 1056: more than one piece of K with several rows of A.
        // N = 67: 16 tiles of four rows, then 3 alone; N = 68: the last tile's rows end at the poison after B (the
        // tail mask's work). Every 2-byte shift within a 64-byte line.
        foreach (int n in new[] { 67, 68 })
        foreach (int k in new[] { 64, 1056 })
        for (int shift = 0; shift < 32; shift++)
        {
            var s = new Case(m, n, k, true, Shift: shift, Seed: Seed());
            AssertMatches(s, null, Body);
            if (shift % 4 == 1) AssertMatches(s with { Seed = Seed() }, _pair, Body);
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void FewRowsWithEpilogueAndAccumulateSplitOverATeam(int m)
    {
        // 1003 × 211: enough work for the team, N not a multiple of 16, K not a multiple of 16.
        foreach (Activation act in Enum.GetValues<Activation>())
        foreach (bool tb in new[] { true, false })
        {
            int seed = Seed();
            var s = new Case(m, 1003, 211, tb, Shift: seed % 32, Accumulate: seed % 2 == 0, Bias: act != Activation.Relu, Activation: act, Seed: seed);
            AssertMatches(s, _pair, Body);
        }
    }

    [Fact]
    public void DecodeShapesMatchReferenceOnATeam()
    {
        // The benchmark model's shapes, cut down in N: K = 2048 (ld = K, rows 4 KB apart), off their line by 8 bytes
        // as a mapped safetensors file's tensors are.
        foreach (int m in new[] { 1, 4, 8 })
        foreach (bool tb in new[] { true, false })
        {
            int seed = Seed();
            AssertMatches(new Case(m, 256, 2048, tb, Shift: 4, Accumulate: true, Seed: seed), _pair, Body);
            AssertMatches(new Case(m, 256, 2048, tb, Shift: 4, Seed: seed + 1), null, Body);
        }
    }

    public static TheoryData<int> ManyRows() => new() { 9, 24, 25, 70 };

    [Theory]
    [MemberData(nameof(ManyRows))]
    public void ManyRowsTakeTheBlockedKernelAndMatchReference(int m)
    {
        // 9 … 24 rows: the AVX-512 kernel's skinny branch (B in place for float32, packed for bfloat16); 25, 70: packed
        // panels. K = 385: past one KC slice; ragged N; transposed A; a team splits the larger ones.
        foreach (bool tb in new[] { true, false })
        foreach (var (n, k) in new[] { (1, 1), (33, 17), (130, 385), (67, 2048 + 3) })
        {
            int seed = Seed();
            var s = new Case(m, n, k, tb, LdbPad: seed % 3, Shift: seed % 32, TransA: seed % 5 == 0, Accumulate: seed % 2 == 0,
                Bias: true, Activation: Activation.Silu, Seed: seed);
            AssertMatches(s, null, Body);
            AssertMatches(s with { Seed = seed + 1 }, _pair, Body);
        }
    }

    [Fact]
    public void TransposedAWithFewRowsTakesTheBlockedKernel()
    {
        foreach (int m in new[] { 1, 5 })
        foreach (bool tb in new[] { true, false })
            AssertMatches(new Case(m, 37, 50, tb, Shift: 3, TransA: true, Accumulate: true, Bias: true, Activation: Activation.Gelu, Seed: Seed()), null, Body);
    }
}

/// <summary>
/// The decode kernel's AVX2 body for a bfloat16 B, forced on this AVX-512 machine (<see cref="SkinnyGemm.ForceVector256"/>):
/// every case of <see cref="Bf16GemmTests"/> (inherited). Other tests running meanwhile merely take the AVX2 body too.
/// </summary>
[Collection(nameof(SkinnyGemmVector256Tests))]
public sealed class Bf16GemmVector256Tests : Bf16GemmTests
{
    public Bf16GemmVector256Tests() => SkinnyGemm.ForceVector256 = true;

    protected override string Body => "AVX2 ";

    public override void Dispose()
    {
        SkinnyGemm.ForceVector256 = false;
        base.Dispose();
    }
}
