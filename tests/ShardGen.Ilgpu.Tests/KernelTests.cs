using System;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Ilgpu;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>The ILGPU kernels against independent double references: GEMM, epilogues, norms, attention.</summary>
[Collection(SharedMeshCollection.Name)]
public sealed class KernelTests
{
    private static Device Dev => IlgpuMeshes.Cpu(1).Devices[0];

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Gemm_all_transposes_on_strided_views_with_accumulate(bool ta, bool tb)
    {
        var d = Dev;
        const int m = 7, n = 9, k = 5;
        var rng = new Random(ta ? 1 : 2 + (tb ? 10 : 0));
        var a = RoundToFloat(Random(rng, m * k));
        var b = RoundToFloat(Random(rng, k * n));
        var c0 = RoundToFloat(Random(rng, m * n));
        // Stored shapes: A is [m, k] or [k, m]; B is [k, n] or [n, k]; all with padded strides and offsets.
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        var aStored = ta ? Transpose(a, m, k) : a;
        var bStored = tb ? Transpose(b, k, n) : b;
        var av = Upload(d, aStored, aRows, aCols, stride: aCols + 3, offset: 2);
        var bv = Upload(d, bStored, bRows, bCols, stride: bCols + 1, offset: 5);
        var cv = Upload(d, c0, m, n, stride: n + 2, offset: 1);
        d.Gemm(av, ta, bv, tb, cv, accumulate: true);
        var expected = MatMul(a, k, false, b, n, false, m, n, k);
        for (int i = 0; i < expected.Length; i++) expected[i] += c0[i];
        AssertClose(Download(cv), expected, 1e-5, $"ta={ta} tb={tb}");
    }

    [Theory]
    [InlineData(Activation.None)]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Sigmoid)]
    public void Gemm_fused_bias_and_activation_and_the_separate_epilogue(Activation act)
    {
        var d = Dev;
        const int m = 6, n = 11, k = 17; // k is not a multiple of the tile
        var rng = new Random((int)act);
        var a = RoundToFloat(Random(rng, m * k)).Select(x => 3 * x).ToArray();
        var b = RoundToFloat(Random(rng, k * n));
        var bias = RoundToFloat(Random(rng, n));
        var av = Upload(d, a, m, k);
        var bv = Upload(d, b, k, n);
        var biasv = Upload(d, bias, 1, n);
        var cv = Alloc(d, m, n, stride: n + 4);
        d.Gemm(av, false, bv, false, cv, accumulate: false, biasv, act);
        var prod = MatMul(a, k, false, b, n, false, m, n, k);
        var expected = prod.Select((v, i) => Activate(v + bias[i % n], act)).ToArray();
        AssertClose(Download(cv), expected, 1e-5, $"fused {act}");

        // The same through BiasActivation on a plain product.
        var c2 = Alloc(d, m, n);
        d.Gemm(av, false, bv, false, c2, accumulate: false);
        d.BiasActivation(c2, biasv, act);
        AssertClose(Download(c2), expected, 1e-5, $"epilogue {act}");
    }

    [Fact]
    public void Gelu_is_the_erf_form_far_out_in_the_tails()
    {
        var d = Dev;
        var x = new double[] { -8, -5, -3.2, -1.6, -1.4999, -0.3, 0, 0.3, 1.4999, 1.6, 3.2, 5, 8 };
        var v = Upload(d, x, 1, x.Length);
        d.BiasActivation(v, null, Activation.Gelu);
        var got = Download(v);
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(got[i] - Activate(x[i], Activation.Gelu)) < 2e-6, $"gelu({x[i]}) = {got[i]}");
    }

    [Fact]
    public void Copy_and_add_between_strided_views()
    {
        var d = Dev;
        var rng = new Random(3);
        var x = RoundToFloat(Random(rng, 4 * 5));
        var y = RoundToFloat(Random(rng, 4 * 5));
        var xv = Upload(d, x, 4, 5, stride: 8, offset: 3);
        var yv = Upload(d, y, 4, 5, stride: 6);
        d.Add(xv, yv);
        AssertClose(Download(yv), x.Zip(y, (p, q) => p + q).ToArray(), 1e-7, "add");
        var z = Alloc(d, 4, 5, stride: 7, offset: 1);
        d.Copy(xv, z);
        Assert.Equal(ToFloat(x), Download(z));
    }

    [Theory]
    [InlineData(NormKind.LayerNorm, true)]
    [InlineData(NormKind.LayerNorm, false)]
    [InlineData(NormKind.RmsNorm, true)]
    public void Norms_match_reference_in_place_and_strided(NormKind kind, bool inPlace)
    {
        var d = Dev;
        const int rows = 5, cols = 37;
        var rng = new Random(7);
        var x = RoundToFloat(Random(rng, rows * cols)).Select(v => 100 + 3 * v).ToArray(); // |mean| ≫ std
        var gamma = RoundToFloat(Random(rng, cols));
        var beta = RoundToFloat(Random(rng, cols));
        var xv = Upload(d, x, rows, cols, stride: cols + 2, offset: 1);
        var yv = inPlace ? xv : Alloc(d, rows, cols);
        d.Normalize(xv, yv, kind, Upload(d, gamma, 1, cols), Upload(d, beta, 1, cols), 1e-5f);
        var expected = Normalize(x, rows, cols, kind, gamma, kind == NormKind.LayerNorm ? beta : null, 1e-5);
        AssertClose(Download(yv), expected, 1e-5, $"{kind} inPlace={inPlace}");
    }

    [Theory]
    [InlineData(8, 8, false)]
    [InlineData(8, 2, true)]
    [InlineData(4, 1, true)]
    public void Attention_matches_reference_over_packed_sequences(int heads, int kvHeads, bool causal)
    {
        var d = Dev;
        const int dim = 4;
        var shape = new AttentionShape(heads, kvHeads, dim, causal, new[] { 0, 5, 6, 13 });
        var rng = new Random(heads * 10 + kvHeads);
        var qkv = RoundToFloat(Random(rng, shape.Tokens * shape.FusedWidth)).Select(v => 2 * v).ToArray();
        var qv = Upload(d, qkv, shape.Tokens, shape.FusedWidth, stride: shape.FusedWidth + 3, offset: 2);
        var ov = Alloc(d, shape.Tokens, shape.OutputWidth, stride: shape.OutputWidth + 1);
        d.Attention(qv, ov, shape);
        AssertClose(Download(ov), Attention(qkv, shape), 1e-5, $"{heads}/{kvHeads} causal={causal}");
    }

    [Fact]
    public void Bad_arguments_throw_at_enqueue_and_a_view_of_another_device_is_refused()
    {
        var d = Dev;
        var a = Alloc(d, 2, 3);
        var c = Alloc(d, 2, 2);
        Assert.Throws<ArgumentException>(() => d.Gemm(a, false, a, false, c, false));
        var other = IlgpuMeshes.Cpu(2).Devices[1];
        var e = Assert.Throws<ArgumentException>(() => d.Copy(Alloc(other, 2, 3), a));
        Assert.Contains("belongs to device", e.Message);
        d.Synchronize();
    }

    private static double[] Transpose(double[] x, int rows, int cols)
    {
        var t = new double[x.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = x[r * cols + c];
        return t;
    }
}
