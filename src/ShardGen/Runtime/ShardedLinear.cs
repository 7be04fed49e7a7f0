using System;
using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Training;

namespace ShardGen.Runtime;

/// <summary>
/// One layer's weight and bias shards, resident on the mesh. The three Split methods are the only code
/// that cuts full host weights into shards; they read the weight in its declared layout and never
/// transpose it (an [out, in] weight is used through a transposed-B GEMM instead).
/// </summary>
public sealed class ShardedLinear : IShardedLayer
{
    private readonly DeviceAllocations _memory = new();

    private ShardedLinear(Linear info, int devices)
    {
        Info = info;
        Weights = new MatrixView[devices];
        Biases = new MatrixView?[devices];
    }

    /// <summary>The layer as planned (name, strategy, shard shapes).</summary>
    public Linear Info { get; }

    PlannedLayer IShardedLayer.Layer => Info;

    /// <summary>Weights[rank]: the device's weight shard in the declared layout ([n, hidden] for a head viewed in place: <see cref="TransposedWeight"/>).</summary>
    public MatrixView[] Weights { get; }

    /// <summary>Biases[rank]: the device's bias (1×n), or null without a bias.</summary>
    public MatrixView?[] Biases { get; }

    /// <summary>
    /// Where each device's shard sits in the layer's tensors (Split only, empty for a loaded head): rank by rank, the
    /// weight block (in the declared layout) then the bias slice, or the whole bias replicated on every device.
    /// </summary>
    internal ParameterSlice[] Slices { get; private set; } = Array.Empty<ParameterSlice>();

    /// <summary>True for [out, in] weights: the GEMM reads the shard transposed.</summary>
    public bool TransposedWeight => _tiedTo is not null || _viewedTransposed || Info.WeightLayout == WeightLayout.OutIn;

    // A loaded head viewed in place in its checkpoint's [vocab, hidden] tensor: its shards are [n, hidden].
    private bool _viewedTransposed;

    // A tied LM head's weights are the token embedding's shards, read transposed; the embedding owns them.
    private ShardedEmbedding? _tiedTo;

    /// <summary>
    /// The LM head, column-parallel over the vocabulary: device r gets output columns [FirstOutFeature(r), +OutFeaturesOf(r))
    /// of W [hidden, vocab] (uneven ranges, the embedding's rows), read from <paramref name="source"/> (viewed in place
    /// where it allows: a LLaMA lm_head as its rows of [vocab, hidden], read transposed); a tied head
    /// reuses <paramref name="tied"/>'s rows [rows, hidden] through a transposed GEMM, with no second copy.
    /// </summary>
    public static ShardedLinear LoadHead(DeviceMesh mesh, Linear layer, IWeightSource source, ShardedEmbedding? tied)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(layer);
        var sharded = new ShardedLinear(layer, mesh.Size) { _tiedTo = layer.Tied ? tied ?? throw new ArgumentNullException(nameof(tied)) : null };
        var key = new WeightKey(layer.Index, -1, WeightRole.Head);
        var inPlace = sharded._tiedTo is null ? WeightReader.InPlace(source, key) : null;
        sharded._viewedTransposed = inPlace == true;
        try
        {
            DeviceUploads.ForEach(mesh, rank =>
            {
                var device = mesh.Devices[rank];
                int c0 = layer.FirstOutFeature(rank), n = layer.OutFeaturesOf(rank);
                sharded.Weights[rank] = sharded._tiedTo is { } embedding ? embedding.Tables[rank]
                    : inPlace is not null ? WeightReader.View(sharded._memory, device, source, key, 0, c0, layer.InFeatures, n)
                    : WeightReader.Upload(sharded._memory, device, source, key, 0, c0, layer.InFeatures, n);
                sharded.Biases[rank] = WeightReader.Vector(sharded._memory, device, source, new WeightKey(layer.Index, -1, WeightRole.HeadBias), layer.HasBias, c0, n);
            });
            return sharded;
        }
        catch
        {
            sharded.Dispose();
            throw;
        }
    }

    /// <summary>Column-parallel: device r gets output columns [r·o, (r+1)·o) of W and of the bias, o = out/P.</summary>
    public static ShardedLinear SplitColumns(DeviceMesh mesh, Linear layer, LinearWeights weights) =>
        Split(mesh, layer, weights, (rank, p) =>
        {
            int o = layer.OutFeatures / p, c0 = rank * o;
            // [in, out]: a column block; [out, in]: a row block.
            var w = layer.WeightLayout == WeightLayout.InOut ? (0, c0) : (c0, 0);
            return (w, c0, o);
        });

    /// <summary>Row-parallel: device r gets input rows [r·i, (r+1)·i) of W, i = in/P; the bias stays whole.</summary>
    public static ShardedLinear SplitRows(DeviceMesh mesh, Linear layer, LinearWeights weights) =>
        Split(mesh, layer, weights, (rank, p) =>
        {
            int r0 = rank * (layer.InFeatures / p);
            var w = layer.WeightLayout == WeightLayout.InOut ? (r0, 0) : (0, r0);
            return (w, 0, layer.OutFeatures);
        });

    /// <summary>Summa2D: device (i, j) of the q×q grid gets block (i, j) of W as stored, and bias block j.</summary>
    public static ShardedLinear SplitBlocks(DeviceMesh mesh, Linear layer, LinearWeights weights) =>
        Split(mesh, layer, weights, (rank, p) =>
        {
            var grid = mesh.Grid;
            int gi = grid.GridRowOf(rank), gj = grid.GridColumnOf(rank);
            var (rows, cols) = layer.WeightShardShape;
            int o = layer.OutFeatures / grid.Q;
            // For [out, in] storage, block (i, j) is out-block i × in-block j: the A·Bᵀ variant's layout.
            // The bias follows the output block (i, j), whose features are block j either way.
            return ((gi * rows, gj * cols), gj * o, o);
        });

    private delegate ((int Row, int Col) WeightOrigin, int BiasStart, int BiasLength) ShardOf(int rank, int devices);

    private static ShardedLinear Split(DeviceMesh mesh, Linear layer, LinearWeights weights, ShardOf shardOf)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(layer);
        if (layer.Devices != mesh.Size)
            throw new ShardingException($"Layer '{layer.Name}' was planned for {layer.Devices} devices but the mesh has {mesh.Size}.");
        if (LinearWeights.Check(layer.Spec, weights) is { } problem) throw new ShardingException(problem);

        var sharded = new ShardedLinear(layer, mesh.Size);
        try
        {
            var (rows, cols) = layer.WeightShardShape;
            var slices = new List<ParameterSlice>();
            WeightKey weightKey = new(layer.Index, -1, WeightRole.LinearWeight), biasKey = new(layer.Index, -1, WeightRole.LinearBias);
            for (int rank = 0; rank < mesh.Size; rank++)
            {
                var device = mesh.Devices[rank];
                var ((r0, c0), biasStart, biasLength) = shardOf(rank, mesh.Size);
                sharded.Weights[rank] = sharded._memory.Upload(device, weights.Weight, r0, c0, rows, cols);
                sharded.Biases[rank] = sharded._memory.Upload(device, weights.Bias, biasStart, biasLength);
                slices.Add(new ParameterSlice(weightKey, rank, r0, c0, sharded.Weights[rank]));
                if (sharded.Biases[rank] is { } bias) slices.Add(new ParameterSlice(biasKey, rank, 0, biasStart, bias));
            }
            sharded.Slices = slices.ToArray();
            return sharded;
        }
        catch
        {
            sharded.Dispose();
            throw;
        }
    }

    public void Dispose() => _memory.Dispose();
}
