using System;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;
using ShardGen.Kernels;

namespace ShardGen.Ilgpu;

// Language-model kernels: embedding lookup, rotary positions, gated activation and attention against a KV cache.
// Arrays the caller may reuse are copied at enqueue; ids and positions reach the device through the index buffer.
public sealed partial class IlgpuDevice
{
    public override void Gather(int[] ids, int firstRow, MatrixView table, MatrixView output)
    {
        CheckGather(ids, firstRow, table, output);
        ids = (int[])ids.Clone();
        Enqueue(() =>
        {
            var p = new GatherParams { Table = Layout(table), Output = Layout(output), TableRows = table.Rows, FirstRow = firstRow };
            KernelSet.Gather(Stream, p, ids.Length, Indices(ids), ViewOf(table), ViewOf(output));
        });
    }

    public override void Rotary(MatrixView x, int heads, int headDim, int[] positions, float theta)
    {
        CheckRotary(x, heads, headDim, positions, theta);
        positions = (int[])positions.Clone();
        int last = 0;
        foreach (int p in positions) last = Math.Max(last, p);
        // The host table (shared with the CPU backend) is made here, off the worker; the worker uploads it when it grew.
        var table = RotaryTable.For(headDim, theta, last + 1);
        Enqueue(() =>
        {
            var angles = RotaryAngles(table);
            var p = new RotaryParams { X = Layout(x), Heads = heads, HeadDim = headDim, SinOffset = table.Cos.Length };
            KernelSet.Rotary(Stream, p, positions.Length, Indices(positions), angles, ViewOf(x));
        });
    }

    public override void GatedActivation(MatrixView gateUp, MatrixView output, Activation activation)
    {
        CheckGatedActivation(gateUp, output, activation);
        Enqueue(() =>
        {
            var p = new GatedParams { GateUp = Layout(gateUp), Output = Layout(output), Activation = (int)activation };
            KernelSet.Gated(Stream, p, output.Rows, ViewOf(gateUp), ViewOf(output));
        });
    }

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape,
        MatrixView keyCache, MatrixView valueCache, int cachedTokens)
    {
        CheckCachedAttention(qkv, output, shape, keyCache, valueCache, cachedTokens);
        shape = shape with { SequenceStarts = (int[])shape.SequenceStarts.Clone() };
        Enqueue(() => RunCachedAttention(qkv, output, shape, keyCache, valueCache, cachedTokens));
    }

    /// <summary>Worker: <paramref name="values"/> on the device, in the index buffer (grown as needed). Read by the next kernel on the stream.</summary>
    private ArrayView<int> Indices(int[] values)
    {
        ref var buffer = ref _worker.IndexBuffer;
        if (buffer == null || buffer.Length < values.Length)
        {
            Stream.Synchronize();
            long size = Math.Max(values.Length, Math.Max(64, 2 * (buffer?.Length ?? 0)));
            buffer?.Dispose();
            buffer = null;
            buffer = Accelerator.Allocate1D<int>(size);
        }
        var view = buffer.View.SubView(0, Math.Max(values.Length, 1));
        // A kernel queued earlier may still read the previous ids: the copy waits for it.
        Stream.Synchronize();
        if (values.Length > 0) view.CopyFromCPU(Stream, ref values[0], values.Length);
        return view;
    }

    /// <summary>Worker: the device copy of <paramref name="table"/> (cos rows, then sin rows), uploaded again only when the host one grew.</summary>
    private ArrayView<float> RotaryAngles(RotaryTable table)
    {
        var key = (table.HeadDim, table.Theta);
        if (_worker.RotaryTables.TryGetValue(key, out var held) && held.Positions >= table.Positions) return held.Table.View;
        Stream.Synchronize();
        held.Table?.Dispose();
        var buffer = Accelerator.Allocate1D<float>(2L * table.Cos.Length);
        buffer.View.SubView(0, table.Cos.Length).CopyFromCPU(Stream, ref table.Cos[0], table.Cos.Length);
        buffer.View.SubView(table.Cos.Length, table.Sin.Length).CopyFromCPU(Stream, ref table.Sin[0], table.Sin.Length);
        _worker.RotaryTables[key] = (buffer, table.Positions);
        return buffer.View;
    }

    /// <summary>
    /// Appends the new keys and values to the caches, then runs the new queries (positions cachedTokens onwards) in
    /// causal strips over the cache rows they see (<see cref="RunAttentionStrip"/>): a decoded token under a sliding
    /// window reads only its last W rows.
    /// </summary>
    private void RunCachedAttention(MatrixView qkv, MatrixView output, AttentionShape shape, MatrixView keyCache, MatrixView valueCache, int cached)
    {
        int rows = qkv.Rows, d = shape.HeadDim, width = shape.KvHeads * d;
        var q = ViewOf(qkv);
        var kc = ViewOf(keyCache);
        var vc = ViewOf(valueCache);
        KernelSet.Copy(Stream, q, new ViewLayout(qkv.Offset + shape.QueryHeads * d, qkv.Stride, width), kc,
            new ViewLayout(keyCache.Offset + cached * keyCache.Stride, keyCache.Stride, width), rows);
        KernelSet.Copy(Stream, q, new ViewLayout(qkv.Offset + shape.QueryHeads * d + width, qkv.Stride, width), vc,
            new ViewLayout(valueCache.Offset + cached * valueCache.Stride, valueCache.Stride, width), rows);
        var operands = new AttentionOperands(q, qkv.Offset, qkv.Stride, kc, keyCache.Offset, keyCache.Stride,
            vc, valueCache.Offset, valueCache.Stride, ViewOf(output), output.Offset, output.Stride, cached);
        int strip = StripRows(shape, rows);
        for (int first = 0; first < rows; first += strip)
            RunAttentionStrip(operands, shape, first, Math.Min(strip, rows - first), cached + rows);
    }
}
