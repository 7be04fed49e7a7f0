using System;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>
/// Transposed B whose rows start off a 64-byte line, as the weights of a safetensors file mapped in place do: the
/// decode kernel then reads each row from the line before it with the lanes outside masked (SkinnyGemm.Dots.cs). Every
/// shift of 1 … 15 floats, 1 … 8 rows of A, against the double reference, with NaN in the floats around B (the file's
/// neighbouring bytes), which the masks must keep out of every sum.
/// </summary>
public class SkinnyGemmShiftedRowsTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);
    private readonly CpuDeviceMesh _pair = CpuDeviceMesh.Create(1, threadsPerDevice: 2);

    public void Dispose()
    {
        _mesh.Dispose();
        _pair.Dispose();
    }

    public static TheoryData<int> Rows() => new() { 1, 2, 3, 4, 5, 6, 7, 8 };

    [Theory]
    [MemberData(nameof(Rows))]
    public void RowsOffTheirLineMatchReferenceWithNaNAround(int m)
    {
        // K = 32 (two vectors: first and last both masked) and 1040 (more than one piece of K at M > 1); N = 67: 16
        // tiles of four rows, then 3 rows alone.
        foreach (var mesh in new[] { _mesh, _pair })
        foreach (int k in new[] { 32, 1040 })
        for (int shift = 1; shift < 16; shift++)
        {
            int seed = System.Random.Shared.Next();
            const int n = 67;
            var rng = new Random(seed);
            var a = RoundToFloat(Reference.Random(rng, m * k));
            var b = RoundToFloat(Reference.Random(rng, n * k));
            var d = mesh.Devices[0];
            var av = Upload(d, a, m, k);
            var whole = new float[shift + n * k + 16];
            Array.Fill(whole, float.NaN);
            for (int i = 0; i < n * k; i++) whole[shift + i] = (float)b[i];
            var buffer = d.Allocate(whole.Length);
            d.Upload(whole, whole.Length, buffer.AsMatrix(1, whole.Length));
            var bv = new MatrixView(buffer, shift, n, k, k);
            var cv = Alloc(d, m, n);
            d.Gemm(av, false, bv, true, cv, false, null, Activation.None);
            AssertClose(Download(cv), MatMul(a, k, false, b, k, true, m, n, k), 1e-5,
                $"{m}x{n}x{k} B shifted {shift} floats threads={(mesh == _pair ? 2 : 1)} seed={seed}");
        }
    }
}
