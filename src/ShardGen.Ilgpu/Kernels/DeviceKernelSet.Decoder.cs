using System;
using ILGPU;
using ILGPU.Runtime;

namespace ShardGen.Ilgpu.Kernels;

// Launchers of the language-model kernels (see DecoderKernels).
internal sealed partial class DeviceKernelSet
{
    private Action<AcceleratorStream, Index1D, GatherParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _gather;
    private Action<AcceleratorStream, Index1D, RotaryParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>? _rotary;
    private Action<AcceleratorStream, Index1D, GatedParams, ArrayView<float>, ArrayView<float>>? _gated;

    public void Gather(AcceleratorStream stream, GatherParams p, int tokens, ArrayView<int> ids, ArrayView<float> table, ArrayView<float> output)
    {
        int n = tokens * p.Output.Cols;
        if (n == 0) return;
        _gather ??= _accelerator.LoadAutoGroupedKernel<Index1D, GatherParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>(DecoderKernels.Gather);
        _gather(stream, n, p, ids, table, output);
    }

    public void Rotary(AcceleratorStream stream, RotaryParams p, int rows, ArrayView<int> positions, ArrayView<float> angles, ArrayView<float> x)
    {
        int n = rows * p.Heads * (p.HeadDim / 2);
        if (n == 0) return;
        _rotary ??= _accelerator.LoadAutoGroupedKernel<Index1D, RotaryParams, ArrayView<int>, ArrayView<float>, ArrayView<float>>(DecoderKernels.Rotary);
        _rotary(stream, n, p, positions, angles, x);
    }

    public void Gated(AcceleratorStream stream, GatedParams p, int rows, ArrayView<float> gateUp, ArrayView<float> output)
    {
        int n = rows * p.Output.Cols;
        if (n == 0) return;
        _gated ??= _accelerator.LoadAutoGroupedKernel<Index1D, GatedParams, ArrayView<float>, ArrayView<float>>(DecoderKernels.Gated);
        _gated(stream, n, p, gateUp, output);
    }
}
