using System;
using ILGPU;
using ILGPU.Runtime;

namespace ShardGen.Ilgpu.Kernels;

// Launchers of the normalization backward (see NormBackwardKernels).
internal sealed partial class DeviceKernelSet
{
    private Action<AcceleratorStream, Index1D, NormBackwardParams, ArrayView<float>, ArrayView<float>>? _normStatistics;
    private Action<AcceleratorStream, Index1D, NormBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _normParameters;
    private Action<AcceleratorStream, Index1D, NormBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _normInput;

    /// <summary><paramref name="stats"/> holds 2·Rows floats of scratch.</summary>
    public void NormalizeBackward(AcceleratorStream stream, NormBackwardParams p, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> gamma,
        ArrayView<float> stats, ArrayView<float> dx, ArrayView<float> dGamma, ArrayView<float> dBeta)
    {
        if (p.Rows == 0 || p.X.Cols == 0) return;
        _normStatistics ??= _accelerator.LoadAutoGroupedKernel<Index1D, NormBackwardParams, ArrayView<float>, ArrayView<float>>(NormBackwardKernels.Statistics);
        _normParameters ??= _accelerator.LoadAutoGroupedKernel<Index1D, NormBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(NormBackwardKernels.Parameters);
        _normInput ??= _accelerator.LoadAutoGroupedKernel<Index1D, NormBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(NormBackwardKernels.Input);
        _normStatistics(stream, p.Rows, p, x, stats);
        _normParameters(stream, p.X.Cols, p, x, dy, stats, dGamma, dBeta);
        _normInput(stream, p.Rows, p, x, dy, gamma, stats, dx);
    }
}
