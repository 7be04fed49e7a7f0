using System;
using System.Collections.Generic;
using ShardGen.Algorithms;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The backward of a float model's linear layers (column-parallel, row-parallel, SUMMA), called in reverse plan order
// with the activations a training pass's forward kept. A layer with an activation keeps its pre-activation z (one per
// layer and pass): the fused GEMM epilogue would lose it. Weight and bias gradients accumulate into the layer's
// gradient twin (ShardedModelCore.LinearGradientOf), sharded like the weight.
public sealed partial class ForwardPass
{
    private readonly Dictionary<ShardedLinear, ShardedTensor> _preActivations = new(ReferenceEqualityComparer.Instance);

    /// <summary>dLoss/dY of a float model's training pass (ShardedModelCore.BeginTraining), uploaded by UploadGradient.</summary>
    internal float[,]? OutputGradient { get; set; }

    /// <summary>The output gradient onto the devices, laid out as the forward's output <paramref name="y"/> (the conjugate of Download).</summary>
    public ShardedTensor<Replicated> UploadGradient(ShardedTensor<Replicated> y) => WithGradientAsInput(y.Tensor, UploadReplicated);

    /// <summary>As above, column shards.</summary>
    public ShardedTensor<ColumnShards> UploadGradient(ShardedTensor<ColumnShards> y) => WithGradientAsInput(y.Tensor, UploadColumnShards);

    /// <summary>As above, token shards.</summary>
    public ShardedTensor<TokenShards> UploadGradient(ShardedTensor<TokenShards> y) => WithGradientAsInput(y.Tensor, UploadTokenShards);

    /// <summary>As above, 2D blocks.</summary>
    public ShardedTensor<Blocks2D> UploadGradient(ShardedTensor<Blocks2D> y) => WithGradientAsInput(y.Tensor, UploadBlocks);

    /// <summary>Runs one of the input's uploads on the output gradient: the same cuts, the same host transfer.</summary>
    private T WithGradientAsInput<T>(ShardedTensor y, Func<T> upload)
    {
        ExpectTraining(nameof(UploadGradient));
        var g = OutputGradient ?? throw new InvalidOperationException("UploadGradient needs a float model's training pass (ShardedModelCore.BeginTraining(x, outputGradient)).");
        if (g.GetLength(0) != Tokens || g.GetLength(1) != y.Features)
            throw new InvalidOperationException($"UploadGradient: the output gradient is [{g.GetLength(0)}, {g.GetLength(1)}], the output {y}.");
        var input = _input;
        _input = g;
        try { return upload(); }
        finally { _input = input; }
    }

    private ShardedLinear LinearTwin(ShardedLinear layer) => _core.LinearGradientOf(layer);

    /// <summary>Training: y = act(z) with z = x·W + b kept for the backward (the forward's fused epilogue would drop z).</summary>
    private bool KeepsPreActivation(ShardedLinear layer) => Training && layer.Info.Activation != Activation.None;

    /// <summary>Adds the bias to every shard of <paramref name="y"/>, keeps a copy as the layer's z, then applies the activation to y.</summary>
    private void BiasThenKeptActivation(ShardedTensor y, ShardedLinear layer, Func<int, MatrixView?> biasOf)
    {
        var z = Next(y.Placement, y.Features);
        for (int rank = 0; rank < P; rank++)
        {
            var shard = y.ShardArray[rank];
            var kept = z.ShardArray[rank] = Allocate(rank, shard.Rows, shard.Cols);
            if (shard.Rows == 0) continue;
            var device = Devices[rank];
            device.BiasActivation(shard, biasOf(rank), Activation.None);
            device.Copy(shard, kept);
            device.BiasActivation(shard, null, layer.Info.Activation);
        }
        _preActivations[layer] = z;
    }

    private ShardedTensor PreActivationOf(ShardedLinear layer, string step) =>
        _preActivations.TryGetValue(layer, out var z)
            ? z
            : throw new InvalidOperationException($"Layer '{layer.Info.Name}': {step} needs the pre-activation its training forward keeps; run the forward in the same training pass (ShardedModelCore.BeginTraining).");

    /// <summary>
    /// Column-parallel backward: dZ = act'(z) ⊙ dY (in place), dW_r += Xᵀ·dZ, dBias_r += Σ_t dZ, and dX = dZ·W_rᵀ as
    /// per-device partial sums (all-reduce them: Megatron's f).
    /// </summary>
    public ShardedTensor<PartialSums> ColumnParallelBackward(ShardedTensor<ColumnShards> dY, ShardedTensor<Replicated> x, ShardedLinear layer)
    {
        ExpectTraining(nameof(ColumnParallelBackward));
        Expect(x, Placement.Replicated, layer);
        ExpectGradient(dY.Tensor, Placement.ColumnShards, layer);
        var z = KeepsPreActivation(layer) ? PreActivationOf(layer, nameof(ColumnParallelBackward)) : null;
        var twin = LinearTwin(layer);
        var dx = Next(Placement.Partial, layer.Info.InFeatures);
        for (int rank = 0; rank < P; rank++)
        {
            var device = Devices[rank];
            var dz = dY.ShardArray[rank];
            if (z is not null) device.ActivationBackward(z.ShardArray[rank], dz, dz, layer.Info.Activation);
            WeightGradient(device, layer, x.ShardArray[rank], dz, twin.Weights[rank]);
            if (twin.Biases[rank] is { } dBias) device.BiasGradient(dz, dBias);
            var shard = dx.ShardArray[rank] = Allocate(rank, Tokens, layer.Info.InFeatures);
            InputGradient(device, layer, dz, layer.Weights[rank], shard);
        }
        return new(dx);
    }

    /// <summary>Row-parallel backward: dX_r = dY·W_rᵀ (column shards), dW_r += X_rᵀ·dY; local (the all-reduce's conjugate is the identity).</summary>
    public ShardedTensor<ColumnShards> RowParallelBackward(ShardedTensor<Replicated> dY, ShardedTensor<ColumnShards> x, ShardedLinear layer)
    {
        ExpectTraining(nameof(RowParallelBackward));
        Expect(x, Placement.ColumnShards, layer);
        ExpectGradient(dY.Tensor, Placement.Replicated, layer);
        var twin = LinearTwin(layer);
        var dx = Next(Placement.ColumnShards, layer.Info.InFeatures);
        for (int rank = 0; rank < P; rank++)
        {
            var device = Devices[rank];
            WeightGradient(device, layer, x.ShardArray[rank], dY.ShardArray[rank], twin.Weights[rank]);
            var shard = dx.ShardArray[rank] = Allocate(rank, Tokens, layer.Info.ShardInFeatures);
            InputGradient(device, layer, dY.ShardArray[rank], layer.Weights[rank], shard);
        }
        return new(dx);
    }

    /// <summary>
    /// The backward of a row-parallel layer's bias and activation after the reduction, in place: dY ← act'(z) ⊙ dY,
    /// dBias += Σ_t dY (every device holds the whole replicated gradient, so each adds the same whole sum to its copy).
    /// </summary>
    public void BiasActivationBackward(ShardedTensor<Replicated> dY, ShardedLinear layer)
    {
        ExpectTraining(nameof(BiasActivationBackward));
        if (dY.Placement != Placement.Replicated || dY.Features != layer.Info.OutFeatures)
            throw new InvalidOperationException($"Layer '{layer.Info.Name}': BiasActivationBackward needs the replicated gradient [T, {layer.Info.OutFeatures}], got {dY}.");
        var z = KeepsPreActivation(layer) ? PreActivationOf(layer, nameof(BiasActivationBackward)) : null;
        var twin = LinearTwin(layer);
        for (int rank = 0; rank < P; rank++)
        {
            var dy = dY.ShardArray[rank];
            if (z is not null) Devices[rank].ActivationBackward(z.ShardArray[rank], dy, dy, layer.Info.Activation);
            if (twin.Biases[rank] is { } dBias) Devices[rank].BiasGradient(dy, dBias);
        }
    }

    /// <summary>
    /// As above after a reduce-scatter onto column shards: each device's dY columns give its slice of dBias, and the
    /// slices (in zeroed whole-length buffers) are all-reduced so every device's twin holds the whole bias gradient,
    /// as with a replicated result.
    /// </summary>
    public void BiasActivationBackward(ShardedTensor<ColumnShards> dY, ShardedLinear layer)
    {
        ExpectTraining(nameof(BiasActivationBackward));
        ExpectGradient(dY.Tensor, Placement.ColumnShards, layer);
        var z = KeepsPreActivation(layer) ? PreActivationOf(layer, nameof(BiasActivationBackward)) : null;
        var twin = LinearTwin(layer);
        int w = layer.Info.OutFeatures / P;
        var partials = twin.Biases[0] is null ? null : _scratch.Views(P);
        for (int rank = 0; rank < P; rank++)
        {
            var dy = dY.ShardArray[rank];
            if (z is not null) Devices[rank].ActivationBackward(z.ShardArray[rank], dy, dy, layer.Info.Activation);
            if (partials is null) continue;
            // Whole-length and zeroed: the all-reduce sums the other devices' slices into the zeros.
            partials[rank] = ZeroedPartial(rank, 1, layer.Info.OutFeatures);
            Devices[rank].BiasGradient(dy, partials[rank].Columns(rank * w, w));
        }
        if (partials is null) return;
        Mesh.Collectives.AllReduce(Mesh.World, partials);
        for (int rank = 0; rank < P; rank++) Devices[rank].Add(partials[rank], twin.Biases[rank]!.Value);
    }

    /// <summary>
    /// SUMMA backward on the q×q grid: dZ = act'(z) ⊙ dY (in place); dX = dZ·Wᵀ by SUMMA A·Bᵀ for [in, out] weights
    /// (A·B for [out, in]); dW = Xᵀ·dZ (or dZᵀ·X for [out, in]) by SUMMA Aᵀ·B into scratch blocks, added to the twin;
    /// the bias block's gradient Σ_t dZ is summed over the grid column's token blocks by an all-reduce.
    /// </summary>
    public ShardedTensor<Blocks2D> Summa2DBackward(ShardedTensor<Blocks2D> dY, ShardedTensor<Blocks2D> x, ShardedLinear layer)
    {
        ExpectTraining(nameof(Summa2DBackward));
        Expect(x, Placement.Grid2D, layer);
        ExpectGradient(dY.Tensor, Placement.Grid2D, layer);
        var grid = Mesh.Grid;
        var z = KeepsPreActivation(layer) ? PreActivationOf(layer, nameof(Summa2DBackward)) : null;
        var twin = LinearTwin(layer);
        if (z is not null)
            for (int rank = 0; rank < P; rank++)
                if (dY.ShardArray[rank].Rows > 0)
                    Devices[rank].ActivationBackward(z.ShardArray[rank], dY.ShardArray[rank], dY.ShardArray[rank], layer.Info.Activation);
        if (layer.Info.HasBias) SummaBiasGradient(grid, dY.Tensor, twin);

        // dW blocks (as stored) into pooled scratch: Aᵀ·B overwrites each block whole; then added to the twin.
        var (rows, cols) = layer.Info.WeightShardShape;
        var dW = _scratch.Views(P);
        for (int rank = 0; rank < P; rank++) dW[rank] = Allocate(rank, rows, cols);
        if (layer.TransposedWeight)
            Summa.MultiplyWith(grid, SummaVariant.AtB, dY.Shards, x.Shards, dW, SummaPanels(grid));
        else
            Summa.MultiplyWith(grid, SummaVariant.AtB, x.Shards, dY.Shards, dW, SummaPanels(grid));
        for (int rank = 0; rank < P; rank++) Devices[rank].Add(dW[rank], twin.Weights[rank]);

        var dx = NextAllocated(Placement.Grid2D, layer.Info.InFeatures, layer.Info.InFeatures / grid.Q);
        Summa.MultiplyWith(grid, layer.TransposedWeight ? SummaVariant.AB : SummaVariant.ABt, dY.Shards, layer.Weights, dx.Shards, SummaPanels(grid));
        return new(dx);
    }

    /// <summary>Device (i, j)'s Σ over its token block of dY, all-reduced over grid column j, added to its bias block's twin.</summary>
    private void SummaBiasGradient(DeviceGrid grid, ShardedTensor dY, ShardedLinear twin)
    {
        var partials = _scratch.Views(P);
        for (int rank = 0; rank < P; rank++)
        {
            // Zeroed: BiasGradient accumulates, and a device without tokens adds nothing.
            partials[rank] = ZeroedPartial(rank, 1, twin.Biases[rank]!.Value.Cols);
            if (dY.ShardArray[rank].Rows > 0) Devices[rank].BiasGradient(dY.ShardArray[rank], partials[rank]);
        }
        for (int j = 0; j < grid.Q; j++)
        {
            var members = _scratch.Views(grid.Q);
            for (int i = 0; i < grid.Q; i++) members[i] = partials[grid.RankOf(i, j)];
            Mesh.Collectives.AllReduce(grid.ColumnGroups[j], members);
        }
        for (int rank = 0; rank < P; rank++) Devices[rank].Add(partials[rank], twin.Biases[rank]!.Value);
    }

    /// <summary>dW += Xᵀ·dY for [in, out] weights, dW += dYᵀ·X for [out, in].</summary>
    private static void WeightGradient(Device device, ShardedLinear layer, MatrixView x, MatrixView dy, MatrixView dW)
    {
        if (layer.TransposedWeight) device.Gemm(dy, true, x, false, dW, accumulate: true);
        else device.Gemm(x, true, dy, false, dW, accumulate: true);
    }

    /// <summary>dX = dY·Wᵀ for [in, out] weights, dX = dY·W for [out, in]; overwrites dX.</summary>
    private static void InputGradient(Device device, ShardedLinear layer, MatrixView dy, MatrixView w, MatrixView dx) =>
        device.Gemm(dy, false, w, !layer.TransposedWeight, dx, accumulate: false);

    private static void ExpectGradient(ShardedTensor dY, Placement placement, ShardedLinear layer)
    {
        if (dY.Placement != placement || dY.Features != layer.Info.OutFeatures)
            throw new InvalidOperationException($"Layer '{layer.Info.Name}' ({layer.Info.Spec.StrategyText}): its backward needs a {placement} output gradient of {layer.Info.OutFeatures} features, got {dY}.");
    }
}
