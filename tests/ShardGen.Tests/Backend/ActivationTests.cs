using System;
using System.Runtime.Intrinsics;
using ShardGen.Cpu;
using ShardGen.Kernels;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

public sealed class ActivationTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);

    public void Dispose() => _mesh.Dispose();

    public static TheoryData<Activation> All => new()
    {
        Activation.None, Activation.Relu, Activation.Gelu, Activation.GeluTanh, Activation.Silu, Activation.Tanh, Activation.Sigmoid,
    };

    [Theory]
    [MemberData(nameof(All))]
    public void GemmWithBiasAndActivationMatchesReference(Activation act)
    {
        // 70 columns: full 64-wide tiles, 16-wide vectors and a scalar tail all take part.
        foreach (bool bias in new[] { false, true })
        {
            var (actual, expected) = GemmTests.RunGemm(_mesh.Devices[0], 9, 70, 33, false, true, accumulate: bias, bias: bias, act: act, seed: (int)act);
            AssertClose(actual, expected, 1e-5, $"{act} bias={bias}");
        }
    }

    [Theory]
    [MemberData(nameof(All))]
    public void BiasActivationOverAWideRangeMatchesReference(Activation act)
    {
        var d = _mesh.Devices[0];
        const int rows = 4, cols = 203;
        var x = new double[rows * cols];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(-9 + 18.0 * i / (x.Length - 1));
        var bias = RoundToFloat(Reference.Random(new Random(2), cols));
        var c = Upload(d, x, rows, cols, cols + 3);
        d.BiasActivation(c, Upload(d, bias, 1, cols), act);
        var actual = Download(c);
        var expected = new double[x.Length];
        for (int i = 0; i < x.Length; i++) expected[i] = Activate((float)(x[i] + bias[i % cols]), act);
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])),
                $"{act}({x[i] + bias[i % cols]}) = {actual[i]}, expected {expected[i]}");
    }

    [Fact]
    public void ErfIsAccurateToBetterThan1e7()
    {
        double worst = 0;
        for (int i = 0; i <= 24000; i++)
        {
            double x = -6 + i * 0.0005;
            worst = Math.Max(worst, Math.Abs(ShardGen.Kernels.Erf.Evaluate(x) - Reference.Erf(x)));
            var v = ShardGen.Kernels.Erf.Evaluate(Vector512.Create(x)).GetElement(0);
            worst = Math.Max(worst, Math.Abs(v - Reference.Erf(x)));
            var w = ShardGen.Kernels.Erf.Evaluate(Vector256.Create(x)).GetElement(0);
            worst = Math.Max(worst, Math.Abs(w - Reference.Erf(x)));
        }
        Assert.True(worst < 1e-7, $"erf error {worst:E3}");
    }

    [Fact]
    public void ReferenceErfMatchesKnownValues()
    {
        // Values from tables (Abramowitz & Stegun), so the reference itself is checked.
        Assert.Equal(0.5204998778130465, Reference.Erf(0.5), 14);
        Assert.Equal(0.9953222650189527, Reference.Erf(2.0), 14);
        Assert.Equal(-0.9999779095030014, Reference.Erf(-3.0), 14);
        Assert.Equal(0.9999999845827421, Reference.Erf(4.0), 14);
    }
}
