using System;
using ShardGen.Ilgpu.Kernels;
using Xunit.Abstractions;

namespace ShardGen.Ilgpu.Tests;

/// <summary>The kernels' software exp (every backend runs it) against the host's exp, over its whole range.</summary>
public sealed class KernelMathTests(ITestOutputHelper output)
{
    [Fact]
    public void Double_exp_is_within_two_ulps_of_the_host_exp_over_the_whole_range()
    {
        var rng = new Random(Environment.TickCount);
        double worst = 0;
        for (int i = 0; i < 200_000; i++)
        {
            double x = i % 2 == 0 ? (rng.NextDouble() * 2 - 1) * 40 : -745 + rng.NextDouble() * (709.7 + 745);
            double expected = Math.Exp(x), got = KernelMath.Exp(x);
            if (expected < 2.2250738585072014E-308) continue; // subnormal results: checked below
            double ulps = Math.Abs(got - expected) / (Math.BitIncrement(expected) - expected);
            worst = Math.Max(worst, ulps);
            Assert.True(ulps <= 2, $"exp({x:R}) = {got:R}, host {expected:R}: {ulps:F2} ulp");
        }
        Assert.True(worst > 0, "the comparison never saw a difference: suspicious for 200k random inputs");
        output.WriteLine($"worst: {worst:F2} ulp");
    }

    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(710.0, double.PositiveInfinity)]
    [InlineData(-746.0, 0.0)]
    [InlineData(double.NegativeInfinity, 0.0)]
    [InlineData(double.PositiveInfinity, double.PositiveInfinity)]
    public void Exact_edges(double x, double expected) => Assert.Equal(expected, KernelMath.Exp(x));

    [Fact]
    public void Nan_stays_nan_and_subnormal_results_are_within_one_step()
    {
        Assert.True(double.IsNaN(KernelMath.Exp(double.NaN)));
        var rng = new Random(Environment.TickCount + 2);
        for (int i = 0; i < 10_000; i++)
        {
            double x = -745 + rng.NextDouble() * (745 - 708.4); // results below the smallest normal double
            double expected = Math.Exp(x), got = KernelMath.Exp(x);
            Assert.True(Math.Abs(got - expected) <= double.Epsilon, $"exp({x:R}) = {got:R}, host {expected:R}");
        }
    }

    [Fact]
    public void Float_exp_matches_the_host_float_exp_to_one_ulp()
    {
        var rng = new Random(Environment.TickCount + 1);
        for (int i = 0; i < 200_000; i++)
        {
            float x = (float)((rng.NextDouble() * 2 - 1) * 88);
            float expected = MathF.Exp(x), got = KernelMath.Exp(x);
            float ulp = MathF.BitIncrement(expected) - expected;
            Assert.True(Math.Abs(got - expected) <= ulp, $"expf({x:R}) = {got:R}, host {expected:R}");
        }
    }
}
