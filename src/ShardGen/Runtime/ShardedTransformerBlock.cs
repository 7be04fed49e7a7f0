using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// A transformer block's parameters on the mesh. Device r holds the fused q|k|v columns of its query heads
/// and of the key/value heads they read (whole heads, gathered from the three sections of the fused weight),
/// the matching rows of the output projection, its columns of the MLP up-projection and rows of the
/// down-projection. Norms and the two output biases (added once, after each reduction) are replicated.
/// </summary>
public sealed class ShardedTransformerBlock : IShardedLayer
{
    private readonly DeviceAllocations _memory = new();

    private ShardedTransformerBlock(TransformerBlock info, int devices)
    {
        Info = info;
        AttentionNorm = new NormShard[devices];
        MlpNorm = new NormShard[devices];
        Qkv = new LinearShard[devices];
        Out = new LinearShard[devices];
        Up = new LinearShard[devices];
        Down = new LinearShard[devices];
    }

    /// <summary>A norm's scale and (LayerNorm only) shift on one device.</summary>
    public readonly record struct NormShard(MatrixView Scale, MatrixView? Shift);

    /// <summary>A projection's weight shard [in, out] and bias on one device.</summary>
    public readonly record struct LinearShard(MatrixView Weight, MatrixView? Bias);

    public TransformerBlock Info { get; }

    PlannedLayer IShardedLayer.Layer => Info;

    public NormShard[] AttentionNorm { get; }
    public NormShard[] MlpNorm { get; }
    public LinearShard[] Qkv { get; }
    public LinearShard[] Out { get; }
    public LinearShard[] Up { get; }
    public LinearShard[] Down { get; }

    /// <summary>Splits <paramref name="weights"/> by whole attention heads and MLP columns and uploads the shards.</summary>
    public static ShardedTransformerBlock Split(DeviceMesh mesh, TransformerBlock block, TransformerBlockWeights weights)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(block);
        if (block.Devices != mesh.Size)
            throw new ShardingException($"Block '{block.Name}' was planned for {block.Devices} devices but the mesh has {mesh.Size}.");
        if (TransformerBlockWeights.Check(block.Spec, weights) is { } problem) throw new ShardingException(problem);

        var sharded = new ShardedTransformerBlock(block, mesh.Size);
        try
        {
            for (int rank = 0; rank < mesh.Size; rank++) sharded.Upload(mesh.Devices[rank], rank, weights);
            return sharded;
        }
        catch
        {
            sharded.Dispose();
            throw;
        }
    }

    private void Upload(Device device, int rank, TransformerBlockWeights w)
    {
        var b = Info;
        int d = b.Hidden, dh = b.HeadDim;
        int q0 = rank * b.LocalHeads, kv0 = b.Shape.FirstKvHead(rank, b.Devices);
        int qCols = b.LocalHeads * dh, kvCols = b.LocalKvHeads * dh;
        int kSection = b.Heads * dh, vSection = kSection + b.KvHeads * dh;

        AttentionNorm[rank] = UploadNorm(device, w.AttentionNormScale, w.AttentionNormShift);
        MlpNorm[rank] = UploadNorm(device, w.MlpNormScale, w.MlpNormShift);

        // Fused q|k|v: this device's query heads, then its key heads, then its value heads.
        var qkv = _memory.Allocate(device, d, b.LocalQkvWidth);
        var pieces = new (int Source, int Width)[] { (q0 * dh, qCols), (kSection + kv0 * dh, kvCols), (vSection + kv0 * dh, kvCols) };
        MatrixView? qkvBias = w.Qkv.Bias is null ? null : _memory.Allocate(device, 1, b.LocalQkvWidth);
        int at = 0;
        foreach (var (source, width) in pieces)
        {
            device.Upload(HostMatrix.From(w.Qkv.Weight, 0, source), w.Qkv.Weight.GetLength(1), qkv.Columns(at, width));
            if (qkvBias is { } bias) device.Upload(w.Qkv.Bias.AsSpan(source, width), width, bias.Columns(at, width));
            at += width;
        }
        Qkv[rank] = new LinearShard(qkv, qkvBias);

        // Output and down projections: the rows that match this device's heads / MLP columns; biases whole.
        Out[rank] = new LinearShard(_memory.Upload(device, w.Out.Weight, q0 * dh, 0, qCols, d), _memory.Upload(device, w.Out.Bias));
        int f0 = rank * b.LocalFfn;
        Up[rank] = new LinearShard(_memory.Upload(device, w.Up.Weight, 0, f0, d, b.LocalFfn),
            _memory.Upload(device, w.Up.Bias, f0, b.LocalFfn));
        Down[rank] = new LinearShard(_memory.Upload(device, w.Down.Weight, f0, 0, b.LocalFfn, d), _memory.Upload(device, w.Down.Bias));
    }

    private NormShard UploadNorm(Device device, float[] scale, float[]? shift) =>
        new(_memory.Upload(device, scale)!.Value, _memory.Upload(device, shift));

    public void Dispose() => _memory.Dispose();
}
