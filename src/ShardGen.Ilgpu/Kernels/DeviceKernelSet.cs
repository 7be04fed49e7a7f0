using System;
using ILGPU;
using ILGPU.Runtime;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// The kernels of one accelerator, compiled on first use (ILGPU compiles per accelerator), with launch helpers
/// that pick the grid. Used only on the owning device's worker thread.
/// </summary>
internal sealed class DeviceKernelSet
{
    private readonly Accelerator _accelerator;
    private Action<AcceleratorStream, KernelConfig, GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _gemm;
    private Action<AcceleratorStream, Index1D, Block2D, Block2D, ArrayView<float>, ArrayView<float>>? _copy;
    private Action<AcceleratorStream, Index1D, Block2D, Block2D, ArrayView<float>, ArrayView<float>>? _add;
    private Action<AcceleratorStream, Index1D, BiasActivationParams, ArrayView<float>, ArrayView<float>>? _biasActivation;
    private Action<AcceleratorStream, KernelConfig, NormParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _normalize;
    private Action<AcceleratorStream, KernelConfig, SoftmaxParams, ArrayView<float>>? _softmax;

    public DeviceKernelSet(Accelerator accelerator)
    {
        _accelerator = accelerator;
        int maxGroup = accelerator.MaxNumThreadsPerGroup;
        int tile = 1;
        while (tile * 2 <= DeviceKernels.MaxTile && (tile * 2) * (tile * 2) <= maxGroup) tile *= 2;
        Tile = tile;
        int rowGroup = 1;
        while (rowGroup * 2 <= DeviceKernels.MaxRowGroup && rowGroup * 2 <= maxGroup) rowGroup *= 2;
        RowGroup = rowGroup;
    }

    /// <summary>GEMM tile side: the largest power of two ≤ 16 whose square fits in a group.</summary>
    public int Tile { get; }

    /// <summary>Threads per row of the norm and softmax kernels: the largest power of two ≤ 256 that fits in a group.</summary>
    public int RowGroup { get; }

    public void Gemm(AcceleratorStream stream, GemmParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias, int batch)
    {
        if (p.M == 0 || p.N == 0 || batch == 0) return;
        p.Tile = Tile;
        if (p.BBatchDivisor < 1) p.BBatchDivisor = 1;
        _gemm ??= _accelerator.LoadKernel<GemmParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DeviceKernels.Gemm);
        var grid = new Index3D((p.N + Tile - 1) / Tile, (p.M + Tile - 1) / Tile, batch);
        _gemm(stream, new KernelConfig(grid, new Index3D(Tile, Tile, 1)), p, a, b, c, bias);
    }

    public void Copy(AcceleratorStream stream, ArrayView<float> source, Block2D s, ArrayView<float> destination, Block2D d, int rows)
    {
        int n = rows * s.Cols;
        if (n == 0) return;
        _copy ??= _accelerator.LoadAutoGroupedKernel<Index1D, Block2D, Block2D, ArrayView<float>, ArrayView<float>>(DeviceKernels.Copy);
        _copy(stream, n, s, d, source, destination);
    }

    public void Add(AcceleratorStream stream, ArrayView<float> source, Block2D s, ArrayView<float> destination, Block2D d, int rows)
    {
        int n = rows * s.Cols;
        if (n == 0) return;
        _add ??= _accelerator.LoadAutoGroupedKernel<Index1D, Block2D, Block2D, ArrayView<float>, ArrayView<float>>(DeviceKernels.Add);
        _add(stream, n, s, d, source, destination);
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

    public void Softmax(AcceleratorStream stream, SoftmaxParams p, int rows, ArrayView<float> scores)
    {
        if (rows == 0 || p.Length == 0) return;
        _softmax ??= _accelerator.LoadKernel<SoftmaxParams, ArrayView<float>>(DeviceKernels.Softmax);
        _softmax(stream, new KernelConfig(new Index1D(rows), new Index1D(RowGroup)), p, scores);
    }
}
