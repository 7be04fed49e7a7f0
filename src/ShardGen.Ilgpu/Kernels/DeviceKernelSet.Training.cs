using System;
using ILGPU;
using ILGPU.Runtime;

namespace ShardGen.Ilgpu.Kernels;

// Launchers of the elementwise training kernels (see TrainingKernels).
internal sealed partial class DeviceKernelSet
{
    private Action<AcceleratorStream, Index1D, ElementwiseBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _activationBackward;
    private Action<AcceleratorStream, Index1D, ElementwiseBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _gatedBackward;
    private Action<AcceleratorStream, Index1D, RotaryParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _rotaryBackward;
    private Action<AcceleratorStream, Index1D, OptimizerParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _optimizer;

    public void ActivationBackward(AcceleratorStream stream, ElementwiseBackwardParams p, int rows, ArrayView<float> z, ArrayView<float> dy, ArrayView<float> dz)
    {
        int n = rows * p.Z.Cols;
        if (n == 0) return;
        _activationBackward ??= _accelerator.LoadAutoGroupedKernel<Index1D, ElementwiseBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>(TrainingKernels.ActivationBackward);
        _activationBackward(stream, n, p, z, dy, dz);
    }

    public void GatedBackward(AcceleratorStream stream, ElementwiseBackwardParams p, int rows, ArrayView<float> gateUp, ArrayView<float> dOut, ArrayView<float> dGateUp)
    {
        int n = rows * p.Dy.Cols;
        if (n == 0) return;
        _gatedBackward ??= _accelerator.LoadAutoGroupedKernel<Index1D, ElementwiseBackwardParams, ArrayView<float>, ArrayView<float>, ArrayView<float>>(TrainingKernels.GatedBackward);
        _gatedBackward(stream, n, p, gateUp, dOut, dGateUp);
    }

    public void RotaryBackward(AcceleratorStream stream, RotaryParams p, int rows, ArrayView<int> positions, ArrayView<float> angles, ArrayView<float> x)
    {
        int n = rows * p.Heads * (p.HeadDim / 2);
        if (n == 0) return;
        _rotaryBackward ??= _accelerator.LoadAutoGroupedKernel<Index1D, RotaryParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>(TrainingKernels.RotaryBackward);
        _rotaryBackward(stream, n, p, positions, angles, x);
    }

    public void Optimizer(AcceleratorStream stream, OptimizerParams p, int rows, ArrayView<float> w, ArrayView<float> g, ArrayView<float> m, ArrayView<float> v)
    {
        int n = rows * p.W.Cols;
        if (n == 0) return;
        _optimizer ??= _accelerator.LoadAutoGroupedKernel<Index1D, OptimizerParams, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(TrainingKernels.Optimizer);
        _optimizer(stream, n, p, w, g, m, v);
    }
}
