using System;
using ShardGen.Kernels;

namespace ShardGen.Tests.Backend;

/// <summary>
/// Packing a bfloat16 B for the blocked kernel gives, bit for bit, the panels the float32 packing makes of the widened
/// weights, at every micro-kernel's panel width (scalar 4, AVX2 16, AVX-512 64): the AVX2 and scalar kernels, which
/// this AVX-512 machine never runs, see the same panels as the one it does.
/// </summary>
public sealed unsafe class Bf16PackingTests
{
    [Fact]
    public void PanelsEqualThoseOfTheWidenedFloats()
    {
        var rng = new Random(Random.Shared.Next());
        foreach (int nr in new[] { 4, 16, 64 })
        foreach (bool trans in new[] { false, true })
        foreach (var (kc, nc, p0, j0) in new[] { (1, 1, 0, 0), (17, 33, 3, 5), (384, 130, 0, 7), (9, 64, 2, 0) })
        {
            int rows = trans ? j0 + nc : p0 + kc, cols = trans ? p0 + kc : j0 + nc, ld = cols + 3;
            var b16 = new ushort[rows * ld];
            var b32 = new float[rows * ld];
            for (int i = 0; i < b16.Length; i++)
            {
                b16[i] = Bf16Gemm.Round((float)(rng.NextDouble() * 2 - 1));
                b32[i] = (float)Bf16Gemm.Widen(b16[i]);
            }
            int size = (nc + nr - 1) / nr * nr * kc;
            var expected = new float[size];
            var actual = new float[size];
            Array.Fill(actual, float.NaN);
            fixed (ushort* s16 = b16)
            fixed (float* s32 = b32, e = expected, a = actual)
            {
                GemmPacking.PackB(s32, ld, trans, p0, j0, kc, nc, nr, e);
                GemmPacking.PackB(s16, ld, trans, p0, j0, kc, nc, nr, a);
            }
            for (int i = 0; i < size; i++)
                Assert.True(BitConverter.SingleToUInt32Bits(actual[i]) == BitConverter.SingleToUInt32Bits(expected[i]),
                    $"nr={nr} trans={trans} kc={kc} nc={nc} p0={p0} j0={j0}: panel element {i} is {actual[i]}, not {expected[i]}");
        }
    }

    [Fact]
    public void RoundingIsToNearestEven()
    {
        // The tests' own rounding, checked on hand-made halfway cases: 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷.
        Assert.Equal(0x3F80, Bf16Gemm.Round(1f + 1f / 256));
        Assert.Equal(0x3F82, Bf16Gemm.Round(1f + 3f / 256));
        Assert.Equal(0x3F81, Bf16Gemm.Round(1f + 1f / 256 + 1f / 4096));
        Assert.Equal(0xBF80, Bf16Gemm.Round(-1f));
    }
}
