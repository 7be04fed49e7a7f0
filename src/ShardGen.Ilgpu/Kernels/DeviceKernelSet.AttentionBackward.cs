using System;
using ILGPU;
using ILGPU.Runtime;

namespace ShardGen.Ilgpu.Kernels;

// Launchers of the attention backward (see AttentionBackwardKernels).
internal sealed partial class DeviceKernelSet
{
    private Action<AcceleratorStream, Index1D, AttentionBackwardParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _attentionStatistics;
    private Action<AcceleratorStream, Index1D, AttentionBackwardParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _attentionQuery, _attentionKeyValue;

    /// <summary><paramref name="stats"/> holds 3·tokens·Heads floats of scratch.</summary>
    public void AttentionBackward(AcceleratorStream stream, AttentionBackwardParams p, int tokens, ArrayView<int> bounds, ArrayView<float> qkv,
        ArrayView<float> dOut, ArrayView<float> stats, ArrayView<float> dQkv)
    {
        if (tokens == 0) return;
        _attentionStatistics ??= _accelerator.LoadAutoGroupedKernel<Index1D, AttentionBackwardParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(AttentionBackwardKernels.Statistics);
        _attentionQuery ??= _accelerator.LoadAutoGroupedKernel<Index1D, AttentionBackwardParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(AttentionBackwardKernels.Query);
        _attentionKeyValue ??= _accelerator.LoadAutoGroupedKernel<Index1D, AttentionBackwardParams, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(AttentionBackwardKernels.KeyValue);
        _attentionStatistics(stream, tokens * p.Heads, p, bounds, qkv, dOut, stats);
        _attentionQuery(stream, tokens * p.Heads * p.HeadDim, p, bounds, qkv, dOut, stats, dQkv);
        _attentionKeyValue(stream, tokens * p.KvHeads * p.HeadDim, p, bounds, qkv, dOut, stats, dQkv);
    }
}
