using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

// Language-model kernels: embedding lookup, rotary positions, gated activation and attention against a KV cache.
// Checked at enqueue time like the others; arrays the caller may reuse are copied before the call returns.
public sealed partial class CpuDevice
{
    public override void Gather(int[] ids, int firstRow, MatrixView table, MatrixView output)
    {
        CheckGather(ids, firstRow, table, output);
        Enqueue(DeviceCommand.Gather((int[])ids.Clone(), firstRow, table, output));
    }

    public override void Rotary(MatrixView x, int heads, int headDim, int[] positions, float theta)
    {
        CheckRotary(x, heads, headDim, positions, theta);
        int last = 0;
        foreach (int p in positions) last = System.Math.Max(last, p);
        var table = RotaryTable.For(headDim, theta, last + 1);
        Enqueue(DeviceCommand.Rotary(x, new RotaryJob((int[])positions.Clone(), heads, table)));
    }

    public override void GatedActivation(MatrixView gateUp, MatrixView output, Activation activation)
    {
        CheckGatedActivation(gateUp, output, activation);
        Enqueue(DeviceCommand.GatedActivation(gateUp, output, activation));
    }

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape,
        MatrixView keyCache, MatrixView valueCache, int cachedTokens)
    {
        CheckCachedAttention(qkv, output, shape, keyCache, valueCache, cachedTokens);
        // The plan snapshots the shape; with nothing cached it also drives the blocked kernel.
        Enqueue(DeviceCommand.CachedAttention(qkv, output, PlanAttention(shape), keyCache, valueCache, cachedTokens));
    }
}
