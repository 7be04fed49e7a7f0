using System;
using ILGPU;
using ILGPU.Runtime;

namespace ShardGen.Ilgpu.Kernels;

// Launchers of the summing training kernels (see ReductionKernels).
internal sealed partial class DeviceKernelSet
{
    private Action<AcceleratorStream, Index1D, ReductionParams, ArrayView<float>, ArrayView<float>>? _biasGradient, _sumOfSquares;
    private Action<AcceleratorStream, Index1D, ReductionParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _scatterAdd;
    private Action<AcceleratorStream, Index1D, ReductionParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _statistics;
    private Action<AcceleratorStream, Index1D, ReductionParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _sumExp;
    private Action<AcceleratorStream, Index1D, ReductionParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _crossEntropy;

    public void BiasGradient(AcceleratorStream stream, ReductionParams p, ArrayView<float> dy, ArrayView<float> dBias)
    {
        if (p.A.Cols == 0) return;
        _biasGradient ??= _accelerator.LoadAutoGroupedKernel<Index1D, ReductionParams, ArrayView<float>, ArrayView<float>>(ReductionKernels.BiasGradient);
        _biasGradient(stream, p.A.Cols, p, dy, dBias);
    }

    public void SumOfSquares(AcceleratorStream stream, ReductionParams p, ArrayView<float> g, ArrayView<float> result)
    {
        _sumOfSquares ??= _accelerator.LoadAutoGroupedKernel<Index1D, ReductionParams, ArrayView<float>, ArrayView<float>>(ReductionKernels.SumOfSquares);
        _sumOfSquares(stream, 1, p, g, result);
    }

    public void ScatterAdd(AcceleratorStream stream, ReductionParams p, ArrayView<int> ids, ArrayView<float> dOut, ArrayView<float> dTable)
    {
        if (p.A.Cols == 0 || p.Rows == 0) return;
        _scatterAdd ??= _accelerator.LoadAutoGroupedKernel<Index1D, ReductionParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>(ReductionKernels.ScatterAdd);
        _scatterAdd(stream, p.A.Cols, p, ids, dOut, dTable);
    }

    public void LogitStatistics(AcceleratorStream stream, ReductionParams p, ArrayView<int> targets, ArrayView<float> logits, ArrayView<float> maxima, ArrayView<float> target)
    {
        if (p.Rows == 0) return;
        _statistics ??= _accelerator.LoadAutoGroupedKernel<Index1D, ReductionParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ReductionKernels.Statistics);
        _statistics(stream, p.Rows, p, targets, logits, maxima, target);
    }

    public void LogitSumExp(AcceleratorStream stream, ReductionParams p, ArrayView<float> logits, ArrayView<float> maxima, ArrayView<float> sums)
    {
        if (p.Rows == 0) return;
        _sumExp ??= _accelerator.LoadAutoGroupedKernel<Index1D, ReductionParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ReductionKernels.SumExp);
        _sumExp(stream, p.Rows, p, logits, maxima, sums);
    }

    public void CrossEntropyGradient(AcceleratorStream stream, ReductionParams p, ArrayView<int> targets, ArrayView<float> logits,
        ArrayView<float> maxima, ArrayView<float> sums, ArrayView<float> dLogits)
    {
        int n = p.Rows * p.A.Cols;
        if (n == 0) return;
        _crossEntropy ??= _accelerator.LoadAutoGroupedKernel<Index1D, ReductionParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(ReductionKernels.Gradient);
        _crossEntropy(stream, n, p, targets, logits, maxima, sums, dLogits);
    }
}
