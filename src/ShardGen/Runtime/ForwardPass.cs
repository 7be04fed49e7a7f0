using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Algorithms;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// One forward pass of a generated model. Each method is one <see cref="PlanStepKind"/>: the generated
/// Forward calls them in plan order. Layers state the layout they need; this class is the one place that
/// knows how to get there (Megatron's copy-to / reduce-from / gather-from / scatter-to regions).
/// Local re-layouts are views, never copies. Disposing waits for the devices and frees the activations.
/// </summary>
public sealed partial class ForwardPass : IDisposable
{
    private readonly ShardedModelCore _core;
    private readonly float[,] _input;
    private readonly List<DeviceBuffer> _buffers = new();
    private bool _downloaded;

    internal ForwardPass(ShardedModelCore core, float[,] input, int[] sequenceStarts)
    {
        _core = core;
        _input = input;
        Tokens = input.GetLength(0);
        SequenceStarts = sequenceStarts;
    }

    public int Tokens { get; }

    /// <summary>Sequence s is tokens [SequenceStarts[s], SequenceStarts[s+1]); attention stays inside it.</summary>
    public int[] SequenceStarts { get; }

    private DeviceMesh Mesh => _core.Mesh;
    private int P => Mesh.Size;
    private IReadOnlyList<Device> Devices => Mesh.Devices;

    // ---- Host to devices --------------------------------------------------------------------------

    /// <summary>The whole input to every device.</summary>
    public ShardedTensor UploadReplicated()
    {
        int f = _input.GetLength(1);
        return Build(TensorLayout.Replicated, f, rank => Upload(rank, 0, 0, Tokens, f));
    }

    /// <summary>Device r gets input columns [r·F/P, (r+1)·F/P).</summary>
    public ShardedTensor UploadColumnShards()
    {
        int f = _input.GetLength(1), w = f / P;
        return Build(TensorLayout.ColumnSharded, f, rank => Upload(rank, 0, rank * w, Tokens, w));
    }

    /// <summary>Device (i, j) gets token block i × feature block j.</summary>
    public ShardedTensor UploadBlocks()
    {
        int f = _input.GetLength(1);
        var grid = Mesh.Grid;
        int w = f / grid.Q;
        return Build(TensorLayout.Blocks2D, f, rank =>
        {
            var (t0, tn) = TokenBlock(grid.GridRowOf(rank), grid.Q);
            return Upload(rank, t0, grid.GridColumnOf(rank) * w, tn, w);
        });
    }

    /// <summary>Device r gets token block r (sequence parallelism).</summary>
    public ShardedTensor UploadTokenShards()
    {
        int f = _input.GetLength(1);
        return Build(TensorLayout.TokenSharded, f, rank =>
        {
            var (t0, tn) = TokenShard(rank);
            return Upload(rank, t0, 0, tn, f);
        });
    }

    // ---- Layer launches ---------------------------------------------------------------------------

    /// <summary>Replicated X · W column shard → Y column shard, bias and activation fused.</summary>
    public ShardedTensor ColumnParallel(ShardedTensor x, ShardedLinear layer)
    {
        Expect(x, TensorLayout.Replicated, layer);
        return Build(TensorLayout.ColumnSharded, layer.Info.OutFeatures, rank =>
        {
            var y = Allocate(rank, Tokens, layer.Info.ShardOutFeatures);
            Devices[rank].Gemm(x.Shards[rank], false, layer.Weights[rank], layer.TransposedWeight, y, accumulate: false,
                layer.Biases[rank], layer.Info.Activation);
            return y;
        });
    }

    /// <summary>X column shard · W row shard → partial sums of the whole Y; bias and activation wait for the reduction.</summary>
    public ShardedTensor RowParallel(ShardedTensor x, ShardedLinear layer)
    {
        Expect(x, TensorLayout.ColumnSharded, layer);
        return Build(TensorLayout.PartialSum, layer.Info.OutFeatures, rank =>
        {
            var y = Allocate(rank, Tokens, layer.Info.OutFeatures);
            Devices[rank].Gemm(x.Shards[rank], false, layer.Weights[rank], layer.TransposedWeight, y, accumulate: false);
            return y;
        });
    }

    /// <summary>SUMMA on the q×q grid (A·B, or A·Bᵀ for [out, in] weights), then bias and activation per block.</summary>
    public ShardedTensor Summa2D(ShardedTensor x, ShardedLinear layer)
    {
        Expect(x, TensorLayout.Blocks2D, layer);
        var grid = Mesh.Grid;
        var y = Build(TensorLayout.Blocks2D, layer.Info.OutFeatures, rank =>
            Allocate(rank, TokenBlock(grid.GridRowOf(rank), grid.Q).Length, layer.Info.ShardOutFeatures));
        var variant = layer.TransposedWeight ? SummaVariant.ABt : SummaVariant.AB;
        Summa.Multiply(grid, variant, x.Shards, layer.Weights, y.Shards);
        if (layer.Info.HasBias || layer.Info.Activation != Activation.None)
            for (int rank = 0; rank < P; rank++)
                Devices[rank].BiasActivation(y.Shards[rank], layer.Biases[rank], layer.Info.Activation);
        return y;
    }

    /// <summary>A row-parallel layer's bias (added once) and activation, after its partial sums were reduced.</summary>
    public void BiasActivation(ShardedTensor y, ShardedLinear layer)
    {
        if (y.Layout is not (TensorLayout.Replicated or TensorLayout.ColumnSharded or TensorLayout.TokenSharded))
            throw new InvalidOperationException($"Layer '{layer.Info.Name}': bias after reduction needs reduced activations, not {y.Layout}.");
        int w = y.Features / P;
        for (int rank = 0; rank < P; rank++)
        {
            var bias = layer.Biases[rank];
            // After a reduce-scatter each device holds one column shard: it adds that slice of the bias.
            // A token shard holds every feature of its tokens, so it takes the whole bias.
            if (bias is { } b && y.Layout == TensorLayout.ColumnSharded) bias = b.Columns(rank * w, w);
            if (y.Shards[rank].Rows > 0) Devices[rank].BiasActivation(y.Shards[rank], bias, layer.Info.Activation);
        }
    }

    // ---- Devices to host --------------------------------------------------------------------------

    /// <summary>Copies the result to a new host array: from device 0 if replicated, else piece by piece.</summary>
    public float[,] Download(ShardedTensor y)
    {
        var result = new float[Tokens, y.Features];
        var host = HostMatrix.Span(result);
        int f = y.Features;
        var pieces = new HostPiece[P];
        switch (y.Layout)
        {
            case TensorLayout.Replicated:
                for (int rank = 0; rank < P; rank++) pieces[rank] = new HostPiece(y.Shards[rank], 0);
                break;
            case TensorLayout.ColumnSharded:
                for (int rank = 0; rank < P; rank++) pieces[rank] = new HostPiece(y.Shards[rank], rank * (f / P));
                break;
            case TensorLayout.TokenSharded:
                for (int rank = 0; rank < P; rank++) pieces[rank] = new HostPiece(y.Shards[rank], TokenShard(rank).Start * f);
                break;
            case TensorLayout.Blocks2D:
                var grid = Mesh.Grid;
                for (int rank = 0; rank < P; rank++)
                {
                    var (t0, _) = TokenBlock(grid.GridRowOf(rank), grid.Q);
                    pieces[rank] = new HostPiece(y.Shards[rank], t0 * f + grid.GridColumnOf(rank) * (f / grid.Q));
                }
                break;
            default:
                throw new InvalidOperationException($"Cannot download a {y.Layout} tensor: reduce it first.");
        }
        Mesh.DownloadToHost(pieces, y.Layout == TensorLayout.Replicated, host, f);
        _downloaded = true;
        return result;
    }

    /// <summary>Waits for every device, then frees this pass's activations.</summary>
    public void Dispose()
    {
        try
        {
            Mesh.Synchronize();
        }
        finally
        {
            foreach (var b in _buffers) b.Dispose();
            _buffers.Clear();
            _core.EndForward(_downloaded);
        }
    }

    // ---- Helpers ----------------------------------------------------------------------------------

    /// <summary>The token block device <paramref name="rank"/> holds under sequence parallelism.</summary>
    private (int Start, int Length) TokenShard(int rank) => TokenBlock(rank, P);

    private (int Start, int Length) TokenBlock(int gridRow, int q) =>
        (BlockPartition.Start(Tokens, q, gridRow), BlockPartition.Length(Tokens, q, gridRow));

    private MatrixView Allocate(int rank, int rows, int cols)
    {
        var buffer = Devices[rank].Allocate(rows * cols);
        _buffers.Add(buffer);
        return buffer.AsMatrix(rows, cols);
    }

    private MatrixView Upload(int rank, int row, int col, int rows, int cols)
    {
        var view = Allocate(rank, rows, cols);
        if (rows > 0) Devices[rank].Upload(HostMatrix.From(_input, row, col), _input.GetLength(1), view);
        return view;
    }

    private ShardedTensor Build(TensorLayout layout, int features, Func<int, MatrixView> shardOf) =>
        new(layout, Tokens, features, Enumerable.Range(0, P).Select(shardOf).ToArray());

    private static void Expect(ShardedTensor x, TensorLayout layout, ShardedLinear layer)
    {
        if (x.Layout != layout || x.Features != layer.Info.InFeatures)
            throw new InvalidOperationException(
                $"Layer '{layer.Info.Name}' ({layer.Info.Spec.StrategyText}) needs a {layout} input of {layer.Info.InFeatures} features, got {x}.");
    }
}
