using System;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Training;

namespace ShardGen.Runtime;

/// <summary>
/// A transformer block's parameters on the mesh. Device r holds the q|k|v columns of its query heads
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

    /// <summary>A projection's weight shard (its parts and orientation) and bias on one device.</summary>
    public readonly record struct LinearShard(ProjectionWeight Weight, MatrixView? Bias);

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
        return Recorded(mesh, block, new BlockWeightSource(block, weights));
    }

    /// <summary>
    /// A float model's gradient twin of <paramref name="block"/>: zeros uploaded exactly as Split uploads the weights,
    /// so each gradient slice lines up with the weight slice of the same index.
    /// </summary>
    internal static ShardedTransformerBlock Zeros(DeviceMesh mesh, TransformerBlock block) => Recorded(mesh, block, ZeroWeights.Instance);

    /// <summary>
    /// Each device's slices of this block's parameters, rank by rank in upload order, when the block was split from host
    /// weights (a float model); empty when a loader recorded them for the whole model.
    /// </summary>
    internal ParameterSlice[] Slices { get; private set; } = Array.Empty<ParameterSlice>();

    private static ShardedTransformerBlock Recorded(DeviceMesh mesh, TransformerBlock block, IWeightSource source)
    {
        var recorder = new SliceRecorder(source);
        var sharded = Load(mesh, block, recorder, -1);
        sharded.Slices = [.. recorder.Slices];
        return sharded;
    }

    /// <summary>
    /// Uploads each device's shards of block <paramref name="index"/> of a stack (−1: a single block) from
    /// <paramref name="source"/>, each device reading only its own slices (checked against the plan by the caller).
    /// </summary>
    public static ShardedTransformerBlock Load(DeviceMesh mesh, TransformerBlock block, IWeightSource source, int index)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(source);
        var sharded = new ShardedTransformerBlock(block, mesh.Size) { Index = Math.Max(index, 0) };
        try
        {
            DeviceUploads.ForEach(mesh, rank => sharded.Upload(mesh.Devices[rank], rank, source, index));
            return sharded;
        }
        catch
        {
            sharded.Dispose();
            throw;
        }
    }

    /// <summary>The block's position in its stack (0 for a single block): which KV cache rows it owns.</summary>
    public int Index { get; private init; }

    private void Upload(Device device, int rank, IWeightSource source, int index)
    {
        var b = Info;
        int d = b.Hidden, dh = b.HeadDim;
        int q0 = rank * b.LocalHeads, kv0 = b.Shape.FirstKvHead(rank, b.Devices);
        int qCols = b.LocalHeads * dh, kvCols = b.LocalKvHeads * dh;
        bool shift = b.Shape.Norm == NormKind.LayerNorm, bias = b.HasBias;
        WeightKey Key(WeightRole role) => new(b.Index, index, role);
        MatrixView Matrix(WeightRole role, int row0, int col0, int rows, int cols) =>
            WeightReader.Upload(_memory, device, source, Key(role), row0, col0, rows, cols);
        ProjectionWeight Projection(WeightRole role, int row0, int col0, int rows, int cols) =>
            WeightReader.Projection(_memory, device, source, Key(role), row0, col0, rows, cols);
        MatrixView? Vector(WeightRole role, bool present, int col0, int cols) =>
            WeightReader.Vector(_memory, device, source, Key(role), present, col0, cols);

        AttentionNorm[rank] = new NormShard(Matrix(WeightRole.AttentionNormScale, 0, 0, 1, d), Vector(WeightRole.AttentionNormShift, shift, 0, d));
        MlpNorm[rank] = new NormShard(Matrix(WeightRole.MlpNormScale, 0, 0, 1, d), Vector(WeightRole.MlpNormShift, shift, 0, d));

        // q|k|v: this device's query heads, then its key heads, then its value heads (whole heads; a KV head
        // replicated on the devices whose query heads read it). Copied: one fused buffer (one GEMM); viewed in a
        // checkpoint's mapping: one part per tensor.
        var pieces = new (WeightRole Weight, WeightRole Bias, int Source, int Width)[]
        {
            (WeightRole.Query, WeightRole.QueryBias, q0 * dh, qCols),
            (WeightRole.Key, WeightRole.KeyBias, kv0 * dh, kvCols),
            (WeightRole.Value, WeightRole.ValueBias, kv0 * dh, kvCols),
        };
        Qkv[rank] = Columns(device, source, b.HasQkvBias, pieces, index);

        // Output and down projections: the rows that match this device's heads / MLP columns; biases whole.
        Out[rank] = new LinearShard(Projection(WeightRole.AttentionOutput, q0 * dh, 0, qCols, d), Vector(WeightRole.AttentionOutputBias, bias, 0, d));
        int f0 = rank * b.LocalFfn, lf = b.LocalFfn;
        Up[rank] = b.Gated
            // One GEMM for both when copied: this device's gate columns, then the same up columns ([gate_r | up_r]).
            ? Columns(device, source, bias, [(WeightRole.MlpGate, WeightRole.MlpGateBias, f0, lf), (WeightRole.MlpUp, WeightRole.MlpUpBias, f0, lf)], index)
            : new LinearShard(Projection(WeightRole.MlpUp, 0, f0, d, lf), Vector(WeightRole.MlpUpBias, bias, f0, lf));
        Down[rank] = new LinearShard(Projection(WeightRole.MlpDown, f0, 0, lf, d), Vector(WeightRole.MlpDownBias, bias, 0, d));
    }

    /// <summary>
    /// A column-parallel shard made of column ranges of several tensors, side by side: viewed in place, one part each,
    /// when the source views them all in one orientation; else copied into one fused [in, Σ widths] buffer. The bias is
    /// always one fused vector. Each piece's weight is read before its bias, the same order either way.
    /// </summary>
    private LinearShard Columns(Device device, IWeightSource source, bool hasBias, (WeightRole Weight, WeightRole Bias, int Source, int Width)[] pieces, int index)
    {
        int d = Info.Hidden, width = 0;
        foreach (var p in pieces) width += p.Width;
        WeightKey Key(WeightRole role) => new(Info.Index, index, role);
        var orientation = WeightReader.InPlace(source, Key(pieces[0].Weight));
        foreach (var p in pieces)
            if (WeightReader.InPlace(source, Key(p.Weight)) != orientation) orientation = null;
        var fused = orientation is null ? _memory.Allocate(device, d, width) : default;
        var parts = new MatrixView[pieces.Length];
        MatrixView? fusedBias = hasBias ? _memory.Allocate(device, 1, width) : null;
        int at = 0;
        for (int i = 0; i < pieces.Length; i++)
        {
            var (weight, biasRole, start, n) = pieces[i];
            if (orientation is null) WeightReader.Read(source, Key(weight), 0, start, parts[i] = fused.Columns(at, n));
            else parts[i] = WeightReader.View(_memory, device, source, Key(weight), 0, start, d, n);
            if (fusedBias is { } fb) WeightReader.Read(source, Key(biasRole), 0, start, fb.Columns(at, n));
            at += n;
        }
        return new LinearShard(orientation is bool t ? new ProjectionWeight(t, parts) : new ProjectionWeight(fused), fusedBias);
    }

    public void Dispose() => _memory.Dispose();
}
