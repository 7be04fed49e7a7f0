using System;
using System.Numerics;
using ILGPU;
using ILGPU.Runtime;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// The kernels of one accelerator, compiled on first use (ILGPU compiles per accelerator), with launch helpers
/// that pick the grid. Used only on the owning device's worker thread.
/// </summary>
internal sealed partial class DeviceKernelSet
{
    private readonly Accelerator _accelerator;
    private Action<AcceleratorStream, KernelConfig, GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _gemm;
    private Action<AcceleratorStream, Index1D, ViewLayout, ViewLayout, ArrayView<float>, ArrayView<float>>? _copy;
    private Action<AcceleratorStream, Index1D, ViewLayout, ViewLayout, ArrayView<float>, ArrayView<float>>? _add;
    private Action<AcceleratorStream, Index1D, ViewLayout, ArrayView<float>>? _zero;
    private Action<AcceleratorStream, Index1D, BiasActivationParams, ArrayView<float>, ArrayView<float>>? _biasActivation;
    private Action<AcceleratorStream, KernelConfig, NormParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _normalize;
    private Action<AcceleratorStream, KernelConfig, SoftmaxParams, ArrayView<float>>? _softmax;
    private Action<AcceleratorStream, Index1D, CausalBandParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _causalBand;
    private (int X, int Y) _gemmGroup;

    public DeviceKernelSet(Accelerator accelerator)
    {
        _accelerator = accelerator;
        int maxGroup = accelerator.MaxNumThreadsPerGroup;
        int side = 1;
        while (side * 2 <= GemmKernel.MaxGroupSide && (side * 2) * (side * 2) <= maxGroup) side *= 2;
        _gemmGroup = (side, side);
        int rowGroup = 1;
        while (rowGroup * 2 <= DeviceKernels.MaxRowGroup && rowGroup * 2 <= maxGroup) rowGroup *= 2;
        RowGroup = rowGroup;
    }

    /// <summary>
    /// GEMM group shape (threads along N, along M); each thread computes 8×8 of C. Default: the largest square power
    /// of two ≤ 16 that fits in a group (16×16 on GPUs: 256 threads, a 128×128 tile; 4×4 on the default CPU
    /// accelerator). Settable so that the GPU check can compare shapes; powers of two from 2 to 16 only.
    /// </summary>
    public (int X, int Y) GemmGroup
    {
        get => _gemmGroup;
        set
        {
            static bool Valid(int side) => side is >= 2 and <= GemmKernel.MaxGroupSide && (side & (side - 1)) == 0;
            if (!Valid(value.X) || !Valid(value.Y) || value.X * value.Y > _accelerator.MaxNumThreadsPerGroup)
                throw new ArgumentOutOfRangeException(nameof(value), value,
                    $"GEMM group sides are powers of two from 2 to {GemmKernel.MaxGroupSide} with at most {_accelerator.MaxNumThreadsPerGroup} threads in all.");
            _gemmGroup = value;
        }
    }

    /// <summary>Threads per row of the norm and softmax kernels: the largest power of two ≤ 256 that fits in a group.</summary>
    public int RowGroup { get; }

    public void Gemm(AcceleratorStream stream, GemmParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, int batch)
    {
        if (p.M == 0 || p.N == 0 || batch == 0) return;
        var (gx, gy) = _gemmGroup;
        int tileN = 8 * gx, tileM = 8 * gy;
        p.ShiftN = BitOperations.Log2((uint)tileN);
        p.ShiftM = BitOperations.Log2((uint)tileM);
        if (p.BBatchDivisor < 1) p.BBatchDivisor = 1;
        _gemm ??= _accelerator.LoadKernel<GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GemmKernel.Gemm);
        var grid = new Index3D((p.N + tileN - 1) / tileN, (p.M + tileM - 1) / tileM, batch);
        _gemm(stream, new KernelConfig(grid, new Index3D(gx, gy, 1)), p, a, b, c, bias);
    }

    public void Copy(AcceleratorStream stream, ArrayView<float> source, ViewLayout s, ArrayView<float> destination, ViewLayout d, int rows)
    {
        int n = rows * s.Cols;
        if (n == 0) return;
        _copy ??= _accelerator.LoadAutoGroupedKernel<Index1D, ViewLayout, ViewLayout, ArrayView<float>, ArrayView<float>>(DeviceKernels.Copy);
        _copy(stream, n, s, d, source, destination);
    }

    public void Add(AcceleratorStream stream, ArrayView<float> source, ViewLayout s, ArrayView<float> destination, ViewLayout d, int rows)
    {
        int n = rows * s.Cols;
        if (n == 0) return;
        _add ??= _accelerator.LoadAutoGroupedKernel<Index1D, ViewLayout, ViewLayout, ArrayView<float>, ArrayView<float>>(DeviceKernels.Add);
        _add(stream, n, s, d, source, destination);
    }

    public void Zero(AcceleratorStream stream, ArrayView<float> destination, ViewLayout d, int rows)
    {
        int n = rows * d.Cols;
        if (n == 0) return;
        _zero ??= _accelerator.LoadAutoGroupedKernel<Index1D, ViewLayout, ArrayView<float>>(DeviceKernels.Zero);
        _zero(stream, n, d, destination);
    }

    public void BiasActivation(AcceleratorStream stream, BiasActivationParams p, ArrayView<float> c, ArrayView<float> bias, int rows)
    {
        int n = rows * p.C.Cols;
        if (n == 0) return;
        _biasActivation ??= _accelerator.LoadAutoGroupedKernel<Index1D, BiasActivationParams, ArrayView<float>, ArrayView<float>>(DeviceKernels.BiasActivation);
        _biasActivation(stream, n, p, c, bias);
    }

    public void Normalize(AcceleratorStream stream, NormParams p, int rows, ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta)
    {
        if (rows == 0 || p.Cols == 0) return;
        _normalize ??= _accelerator.LoadKernel<NormParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DeviceKernels.Normalize);
        _normalize(stream, new KernelConfig(new Index1D(rows), new Index1D(RowGroup)), p, x, y, gamma, beta);
    }

    public void CausalBand(AcceleratorStream stream, CausalBandParams p, int heads, ArrayView<float> scores, ArrayView<float> values, ArrayView<float> output)
    {
        int n = heads * p.QueryRows * p.HeadDim;
        if (n == 0) return;
        _causalBand ??= _accelerator.LoadAutoGroupedKernel<Index1D, CausalBandParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DeviceKernels.CausalBand);
        _causalBand(stream, n, p, scores, values, output);
    }

    public void Softmax(AcceleratorStream stream, SoftmaxParams p, int rows, ArrayView<float> scores)
    {
        if (rows == 0 || p.Length == 0) return;
        _softmax ??= _accelerator.LoadKernel<SoftmaxParams, ArrayView<float>>(DeviceKernels.Softmax);
        _softmax(stream, new KernelConfig(new Index1D(rows), new Index1D(RowGroup)), p, scores);
    }
}
