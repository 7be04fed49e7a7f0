using System;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Ilgpu;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// The register-blocked GEMM at every group shape it runs with: 4×4 (the default CPU accelerator, 32×32 blocks),
/// 8×8 (64×64) and 16×16 (128×128, the GPU shape). Shapes span several blocks with ragged edges in M, N and K, so
/// every guard of the staging and the epilogue is exercised, for all four transpose cases; then non-square groups
/// (the shapes the GPU check compares), and the refusal of shapes the kernel cannot run.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class GemmBlockTests
{
    [Theory]
    [InlineData(16, false, false)]
    [InlineData(16, true, true)]
    [InlineData(64, false, true)]
    [InlineData(64, true, false)]
    [InlineData(256, false, false)]
    [InlineData(256, true, false)]
    [InlineData(256, false, true)]
    [InlineData(256, true, true)]
    public void Multi_block_products_with_ragged_edges(int threadsPerGroup, bool ta, bool tb)
    {
        int side = (int)Math.Sqrt(threadsPerGroup);
        using var mesh = IlgpuDeviceMesh.Create(IlgpuBackend.Cpu, 1, threadsPerGroup);
        var d = (IlgpuDevice)mesh.Devices[0];
        Assert.Equal((side, side), d.GemmGroup); // the default: the largest square group
        CheckProduct(d, ta, tb);
    }

    [Theory]
    [InlineData(16, 8, false, false)]
    [InlineData(16, 8, true, true)]
    [InlineData(8, 16, true, false)]
    [InlineData(4, 16, false, true)]
    [InlineData(16, 2, false, false)]
    public void Non_square_groups(int gx, int gy, bool ta, bool tb)
    {
        using var mesh = IlgpuDeviceMesh.Create(IlgpuBackend.Cpu, 1, 256);
        var d = (IlgpuDevice)mesh.Devices[0];
        d.GemmGroup = (gx, gy);
        CheckProduct(d, ta, tb);
    }

    [Theory]
    [InlineData(3, 4)]
    [InlineData(32, 2)]
    [InlineData(1, 16)]
    [InlineData(16, 16)] // 256 threads on a 16-thread accelerator
    public void Invalid_group_shapes_are_refused_and_leave_the_shape_unchanged(int gx, int gy)
    {
        var d = (IlgpuDevice)IlgpuMeshes.Cpu(1).Devices[0];
        var before = d.GemmGroup;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => d.GemmGroup = (gx, gy));
        Assert.Contains("powers of two", e.Message);
        Assert.Equal(before, d.GemmGroup);
    }

    private static void CheckProduct(IlgpuDevice d, bool ta, bool tb)
    {
        var (gx, gy) = d.GemmGroup;
        int m = 2 * 8 * gy + 3, n = 8 * gx + 5, k = 3 * 8 + 5; // two and a bit blocks down, one and a bit across; K: 3 full steps + 5
        int threadsPerGroup = gx * gy;
        var rng = new Random(threadsPerGroup * 4 + gx + (ta ? 2 : 0) + (tb ? 1 : 0));
        var a = RoundToFloat(Random(rng, m * k)); // as stored: [m, k], or [k, m] when ta
        var b = RoundToFloat(Random(rng, k * n)); // as stored: [k, n], or [n, k] when tb
        var bias = RoundToFloat(Random(rng, n));
        var c0 = RoundToFloat(Random(rng, m * n));
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        var av = Upload(d, a, aRows, aCols, stride: aCols + 1, offset: 3);
        var bv = Upload(d, b, bRows, bCols, stride: bCols + 2, offset: 1);
        var biasv = Upload(d, bias, 1, n);

        // Plain product, then accumulate with the fused bias + GELU epilogue on top of existing C.
        var plain = Alloc(d, m, n, stride: n + 3);
        d.Gemm(av, ta, bv, tb, plain, accumulate: false);
        var product = MatMul(a, aCols, ta, b, bCols, tb, m, n, k);
        AssertClose(Download(plain), product, 1e-5, $"plain group {gx}×{gy} ta={ta} tb={tb}");

        var cv = Upload(d, c0, m, n, stride: n + 1, offset: 2);
        d.Gemm(av, ta, bv, tb, cv, accumulate: true, biasv, Activation.Gelu);
        var expected = product.Select((v, i) => Activate(c0[i] + v + bias[i % n], Activation.Gelu)).ToArray();
        AssertClose(Download(cv), expected, 1e-5, $"accumulate+bias+gelu group {gx}×{gy} ta={ta} tb={tb}");
    }
}
