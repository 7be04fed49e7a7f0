using System;
using System.Collections.Generic;
using ShardGen.Algorithms;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// One forward pass of a generated model. Each method is one step kind (a class in Planning/Steps; <see cref="IForwardSteps{TReplicated, TColumnShards, TTokenShards, THeadShards, TPartialSums, TBlocks, TLinear, TBlock, TEmbedding, TNorm, THost}"/>): the generated
/// Forward calls them in plan order. Layers state the placement they need; this class is the one place that
/// knows how to get there (Megatron's copy-to / reduce-from / gather-from / scatter-to regions).
/// Local slices are views, never copies. Disposing waits for the devices and returns the activations to
/// the model's pool. A model reuses its pass object, tensors and activations in its next pass, so a
/// steady-state pass allocates nothing but the array Download returns.
/// </summary>
public sealed partial class ForwardPass : IDisposable,
    IForwardSteps<ShardedTensor<Replicated>, ShardedTensor<ColumnShards>, ShardedTensor<TokenShards>, ShardedTensor<HeadShards>,
        ShardedTensor<PartialSums>, ShardedTensor<Blocks2D>, ShardedLinear, ShardedTransformerBlock, ShardedEmbedding, ShardedNorm, float[,]>,
    IBackwardSteps<ShardedTensor<Replicated>, ShardedTensor<ColumnShards>, ShardedTensor<TokenShards>, ShardedTensor<HeadShards>,
        ShardedTensor<PartialSums>, ShardedTensor<Blocks2D>, ShardedLinear, ShardedTransformerBlock, ShardedEmbedding, ShardedNorm, float[,]>
{
    private readonly ShardedModelCore _core;
    private readonly List<DeviceBuffer> _buffers = new();
    // A block's temporaries that only their own device's kernels touch (q|k|v, context, MLP hidden, replicated norm
    // outputs): back to the pool at the block's end, so the next block reuses them and a stack's activations do not
    // grow with its depth. Device queues run in order, so a later kernel reusing one runs after the last read of it.
    private readonly List<DeviceBuffer> _local = new();
    private readonly PassScratch _scratch;
    private readonly HostPiece[] _pieces;
    private SummaWorkspace? _summa;
    private float[,] _input = null!;
    private bool _downloaded;
    private bool _active;

    internal ForwardPass(ShardedModelCore core)
    {
        _core = core;
        _scratch = new PassScratch(core.Mesh.Size);
        _pieces = new HostPiece[core.Mesh.Size];
    }

    /// <summary>Makes this (possibly reused) pass run on <paramref name="input"/>.</summary>
    internal void Begin(float[,] input, int[] sequenceStarts)
    {
        _input = input;
        Tokens = input.GetLength(0);
        Start(sequenceStarts, null);
    }

    /// <summary>Makes this (possibly reused) pass run a language model on <paramref name="tokenIds"/> (checked by the core).</summary>
    internal void Begin(int[] tokenIds, int[] sequenceStarts, ShardedKvCache? cache)
    {
        _input = null!;
        TokenIds = tokenIds;
        Tokens = tokenIds.Length;
        Start(sequenceStarts, cache);
    }

    private void Start(int[] sequenceStarts, ShardedKvCache? cache)
    {
        SequenceStarts = sequenceStarts;
        Cache = cache;
        _positionsReady = false;
        _downloaded = false;
        _active = true;
        _scratch.Rewind();
    }

    public int Tokens { get; private set; }

    /// <summary>Sequence s is tokens [SequenceStarts[s], SequenceStarts[s+1]); attention stays inside it.</summary>
    public int[] SequenceStarts { get; private set; } = null!;

    private DeviceMesh Mesh => _core.Mesh;
    private int P => _pieces.Length;
    private IReadOnlyList<Device> Devices => Mesh.Devices;

    // ---- Host to devices --------------------------------------------------------------------------

    /// <summary>The whole input to every device.</summary>
    public ShardedTensor<Replicated> UploadReplicated()
    {
        int f = _input.GetLength(1);
        var y = Next(Placement.Replicated, f);
        for (int rank = 0; rank < P; rank++) y.ShardArray[rank] = Upload(rank, 0, 0, Tokens, f);
        return new(y);
    }

    /// <summary>Device r gets input columns [r·F/P, (r+1)·F/P).</summary>
    public ShardedTensor<ColumnShards> UploadColumnShards()
    {
        int f = _input.GetLength(1), w = f / P;
        var y = Next(Placement.ColumnShards, f);
        for (int rank = 0; rank < P; rank++) y.ShardArray[rank] = Upload(rank, 0, rank * w, Tokens, w);
        return new(y);
    }

    /// <summary>Device (i, j) gets token block i × feature block j.</summary>
    public ShardedTensor<Blocks2D> UploadBlocks()
    {
        int f = _input.GetLength(1);
        var grid = Mesh.Grid;
        int w = f / grid.Q;
        var y = Next(Placement.Grid2D, f);
        for (int rank = 0; rank < P; rank++)
        {
            var (t0, tn) = TokenBlock(grid.GridRowOf(rank), grid.Q);
            y.ShardArray[rank] = Upload(rank, t0, grid.GridColumnOf(rank) * w, tn, w);
        }
        return new(y);
    }

    /// <summary>Device r gets token block r (sequence parallelism).</summary>
    public ShardedTensor<TokenShards> UploadTokenShards()
    {
        int f = _input.GetLength(1);
        var y = Next(Placement.TokenShards, f);
        for (int rank = 0; rank < P; rank++)
        {
            var (t0, tn) = TokenShard(rank);
            y.ShardArray[rank] = Upload(rank, t0, 0, tn, f);
        }
        return new(y);
    }

    // ---- Layer launches ---------------------------------------------------------------------------

    /// <summary>Replicated X · W column shard → Y column shard, bias and activation fused.</summary>
    public ShardedTensor<ColumnShards> ColumnParallel(ShardedTensor<Replicated> x, ShardedLinear layer)
    {
        Expect(x, Placement.Replicated, layer);
        var y = Next(Placement.ColumnShards, layer.Info.OutFeatures);
        for (int rank = 0; rank < P; rank++)
        {
            // Overwritten whole: the GEMM does not accumulate.
            var shard = y.ShardArray[rank] = Allocate(rank, Tokens, layer.Info.ShardOutFeatures);
            // Training keeps z = x·W + b for the activation's backward: the bias fused, the activation after.
            Devices[rank].Gemm(x.ShardArray[rank], false, layer.Weights[rank], layer.TransposedWeight, shard, accumulate: false,
                layer.Biases[rank], KeepsPreActivation(layer) ? Activation.None : layer.Info.Activation);
        }
        if (KeepsPreActivation(layer)) BiasThenKeptActivation(y, layer, _ => null);
        return new(y);
    }

    /// <summary>X column shard · W row shard → partial sums of the whole Y; bias and activation wait for the reduction.</summary>
    public ShardedTensor<PartialSums> RowParallel(ShardedTensor<ColumnShards> x, ShardedLinear layer)
    {
        Expect(x, Placement.ColumnShards, layer);
        var y = Next(Placement.Partial, layer.Info.OutFeatures);
        for (int rank = 0; rank < P; rank++)
        {
            var shard = y.ShardArray[rank] = Allocate(rank, Tokens, layer.Info.OutFeatures);
            Devices[rank].Gemm(x.ShardArray[rank], false, layer.Weights[rank], layer.TransposedWeight, shard, accumulate: false);
        }
        return new(y);
    }

    /// <summary>SUMMA on the q×q grid (A·B, or A·Bᵀ for [out, in] weights), then bias and activation per block.</summary>
    public ShardedTensor<Blocks2D> Summa2D(ShardedTensor<Blocks2D> x, ShardedLinear layer)
    {
        Expect(x, Placement.Grid2D, layer);
        var grid = Mesh.Grid;
        // SUMMA's first step writes each block without accumulating (A·B), or the reduce root's partial is
        // computed straight into it (A·Bᵀ): every block is overwritten whole.
        var y = NextAllocated(Placement.Grid2D, layer.Info.OutFeatures, layer.Info.ShardOutFeatures);
        var variant = layer.TransposedWeight ? SummaVariant.ABt : SummaVariant.AB;
        Summa.MultiplyWith(grid, variant, x.Shards, layer.Weights, y.Shards, SummaPanels(grid));
        if (KeepsPreActivation(layer))
            BiasThenKeptActivation(y, layer, rank => layer.Biases[rank]);
        else if (layer.Info.HasBias || layer.Info.Activation != Activation.None)
            for (int rank = 0; rank < P; rank++)
                Devices[rank].BiasActivation(y.ShardArray[rank], layer.Biases[rank], layer.Info.Activation);
        return new(y);
    }

    /// <summary>A row-parallel layer's bias (added once) and activation, after its partial sums were all-reduced.</summary>
    public void BiasActivation(ShardedTensor<Replicated> y, ShardedLinear layer) => AddBiasActivation(y.Tensor, layer);

    /// <summary>A row-parallel layer's bias and activation after a reduce-scatter onto column shards.</summary>
    public void BiasActivation(ShardedTensor<ColumnShards> y, ShardedLinear layer) => AddBiasActivation(y.Tensor, layer);

    /// <summary>A row-parallel layer's bias and activation after a reduce-scatter onto token shards.</summary>
    public void BiasActivation(ShardedTensor<TokenShards> y, ShardedLinear layer) => AddBiasActivation(y.Tensor, layer);

    private void AddBiasActivation(ShardedTensor y, ShardedLinear layer)
    {
        if (y.Placement != Placement.Replicated && y.Placement != Placement.ColumnShards && y.Placement != Placement.TokenShards)
            throw new InvalidOperationException($"Layer '{layer.Info.Name}': bias after reduction needs reduced activations, not {y.Placement}.");
        int w = y.Features / P;
        if (KeepsPreActivation(layer))
        {
            BiasThenKeptActivation(y, layer, rank => layer.Biases[rank] is { } b && y.Placement == Placement.ColumnShards ? b.Columns(rank * w, w) : layer.Biases[rank]);
            return;
        }
        for (int rank = 0; rank < P; rank++)
        {
            var bias = layer.Biases[rank];
            // After a reduce-scatter each device holds one column shard: it adds that slice of the bias.
            // A token shard holds every feature of its tokens, so it takes the whole bias.
            if (bias is { } b && y.Placement == Placement.ColumnShards) bias = b.Columns(rank * w, w);
            if (y.ShardArray[rank].Rows > 0) Devices[rank].BiasActivation(y.ShardArray[rank], bias, layer.Info.Activation);
        }
    }

    // ---- Devices to host --------------------------------------------------------------------------

    /// <summary>Copies the result to a new host array from device 0.</summary>
    public float[,] Download(ShardedTensor<Replicated> y) => DownloadToHost(y.Tensor);

    /// <summary>Copies the result to a new host array, column shard by column shard.</summary>
    public float[,] Download(ShardedTensor<ColumnShards> y) => DownloadToHost(y.Tensor);

    /// <summary>Copies the result to a new host array, token shard by token shard.</summary>
    public float[,] Download(ShardedTensor<TokenShards> y) => DownloadToHost(y.Tensor);

    /// <summary>Copies the result to a new host array, 2D block by 2D block.</summary>
    public float[,] Download(ShardedTensor<Blocks2D> y) => DownloadToHost(y.Tensor);

    private float[,] DownloadToHost(ShardedTensor y)
    {
        // In a training pass the download is a float model's dX: the backward's end, as Loss() is a language model's.
        if (Training) ExpectSummedGradients(nameof(Download), "Backward");
        int f = y.Features;
        var pieces = _pieces;
        switch (y.Placement)
        {
            case { Kind: PlacementKind.Replicated }:
                for (int rank = 0; rank < P; rank++) pieces[rank] = new HostPiece(y.ShardArray[rank], 0);
                break;
            case { Axis: ShardAxis.Features }:
                // EvenRanges: rank·F/P when F divides, the LM head's uneven vocabulary ranges when it does not.
                for (int rank = 0; rank < P; rank++) pieces[rank] = new HostPiece(y.ShardArray[rank], EvenRanges.Start(f, P, rank));
                break;
            case { Axis: ShardAxis.Tokens }:
                for (int rank = 0; rank < P; rank++) pieces[rank] = new HostPiece(y.ShardArray[rank], TokenShard(rank).Start * f);
                break;
            case { Kind: PlacementKind.Grid2D }:
                var grid = Mesh.Grid;
                for (int rank = 0; rank < P; rank++)
                {
                    var (t0, _) = TokenBlock(grid.GridRowOf(rank), grid.Q);
                    pieces[rank] = new HostPiece(y.ShardArray[rank], t0 * f + grid.GridColumnOf(rank) * (f / grid.Q));
                }
                break;
            default:
                throw new InvalidOperationException($"Cannot download a {y.Placement} tensor: reduce it first.");
        }
        var result = new float[Tokens, f];
        Mesh.DownloadToHost(pieces, y.Placement == Placement.Replicated, HostMatrix.Span(result), f);
        _downloaded = true;
        // The tokens' keys and values are in the cache once the pass has come through.
        Cache?.Advance(Tokens);
        return result;
    }

    /// <summary>Waits for every device, then returns this pass's activations to the model's pool.</summary>
    public void Dispose()
    {
        if (!_active) return;
        bool finished = false;
        try
        {
            Mesh.Synchronize();
            finished = true;
        }
        finally
        {
            // After a failure some device may still be running work on these buffers: free them in queue order
            // instead of pooling them.
            var arena = _core.Arena;
            foreach (var b in _buffers)
                if (finished) arena.Return(b);
                else b.Dispose();
            _buffers.Clear();
            foreach (var b in _local)
                if (finished) arena.Return(b);
                else b.Dispose();
            _local.Clear();
            EndTraining();
            arena.EndPass();
            _active = false;
            _core.EndForward(this, _downloaded);
        }
    }

    // ---- Helpers ----------------------------------------------------------------------------------

    /// <summary>The token block device <paramref name="rank"/> holds under sequence parallelism.</summary>
    private (int Start, int Length) TokenShard(int rank) => TokenBlock(rank, P);

    private (int Start, int Length) TokenBlock(int gridRow, int q) =>
        (EvenRanges.Start(Tokens, q, gridRow), EvenRanges.Length(Tokens, q, gridRow));

    /// <summary>This step's output tensor (reused from the previous pass); the caller fills every shard.</summary>
    private ShardedTensor Next(Placement placement, int features) => _scratch.Tensor().Reset(placement, Tokens, features);

    /// <summary>
    /// <see cref="Next"/> with every shard a pooled [rows, <paramref name="cols"/>] activation, rows being the tokens
    /// the placement gives that device. As with <see cref="Allocate"/>, the caller overwrites every shard whole.
    /// </summary>
    private ShardedTensor NextAllocated(Placement placement, int features, int cols)
    {
        var y = Next(placement, features);
        for (int rank = 0; rank < P; rank++) y.ShardArray[rank] = Allocate(rank, ShardTokens(placement, rank), cols);
        return y;
    }

    /// <summary>How many tokens device <paramref name="rank"/> holds under <paramref name="placement"/>.</summary>
    private int ShardTokens(Placement placement, int rank) => placement switch
    {
        { Axis: ShardAxis.Tokens } => TokenShard(rank).Length,
        { Kind: PlacementKind.Grid2D } => TokenBlock(Mesh.Grid.GridRowOf(rank), Mesh.Grid.Q).Length,
        _ => Tokens,
    };

    /// <summary>
    /// A rows × cols activation from the pool. Its contents are stale: every caller's kernel or collective
    /// overwrites the whole view.
    /// </summary>
    private MatrixView Allocate(int rank, int rows, int cols) => Rent(rank, rows * cols).AsMatrix(rows, cols);

    /// <summary>A rows × cols temporary that only device <paramref name="rank"/>'s own kernels read, returned at the block's end.</summary>
    private MatrixView AllocateLocal(int rank, int rows, int cols)
    {
        var buffer = _core.Arena.Rent(Devices[rank], rows * cols);
        _local.Add(buffer);
        return buffer.AsMatrix(rows, cols);
    }

    /// <summary>Returns the block's local temporaries to the pool for the next block (a training pass keeps them for its backward).</summary>
    private void ReleaseLocal()
    {
        if (Training) return;
        foreach (var b in _local) _core.Arena.Return(b);
        _local.Clear();
    }

    /// <summary>A buffer from the pool, returned when the pass ends.</summary>
    private DeviceBuffer Rent(int rank, int length)
    {
        var buffer = _core.Arena.Rent(Devices[rank], length);
        _buffers.Add(buffer);
        return buffer;
    }

    /// <summary>
    /// SUMMA's scratch, kept for the model's next pass. Its panels come from the pool like activations (a
    /// broadcast or a non-accumulating GEMM overwrites each before it is read), so a steady-state multiply
    /// neither allocates nor waits for the devices.
    /// </summary>
    private SummaWorkspace SummaPanels(DeviceGrid grid) => _summa ??= new SummaWorkspace(grid, Rent);

    private MatrixView Upload(int rank, int row, int col, int rows, int cols)
    {
        var view = Allocate(rank, rows, cols);
        if (rows > 0) Devices[rank].Upload(HostMatrix.From(_input, row, col), _input.GetLength(1), view);
        return view;
    }

    private static void Expect<TPlacement>(ShardedTensor<TPlacement> x, Placement placement, ShardedLinear layer) => Expect(x.Tensor, placement, layer);

    private static void Expect(ShardedTensor x, Placement placement, ShardedLinear layer)
    {
        if (x.Placement != placement || x.Features != layer.Info.InFeatures)
            throw new InvalidOperationException(
                $"Layer '{layer.Info.Name}' ({layer.Info.Spec.StrategyText}) needs a {placement} input of {layer.Info.InFeatures} features, got {x}.");
    }
}
