using System;
using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// A training pass: the forward keeps its activations until the pass ends, then the backward methods (the loss in
// ForwardPass.Loss.cs, the block's in ForwardPass.BlockBackward.cs, the head's, norm's and embeddings' in
// ForwardPass.LanguageModelBackward.cs) accumulate every parameter's gradient into the model's gradient twins.
public sealed partial class ForwardPass
{
    // Sequence parallel: a replicated parameter's gradient from this pass's token shards, one zeroed buffer per device
    // (Partial) and where the sum over the devices goes (Twin), by rank: SumPartialGradients adds them up. The lists are
    // kept for the next pass.
    private List<(MatrixView Partial, MatrixView Twin)>[] _partials = Array.Empty<List<(MatrixView, MatrixView)>>();

    /// <summary>True between BeginTraining and the pass's end: activations are kept for the backward.</summary>
    internal bool Training { get; private set; }

    /// <summary>Targets of a training pass, one per token.</summary>
    internal int[] Targets { get; private set; } = Array.Empty<int>();

    /// <summary>d(loss)/d(loss_t) for every token t: 1/tokens for a mean.</summary>
    internal float GradientScale { get; private set; }

    /// <summary>Makes this pass a training pass (called by ShardedModelCore.BeginTraining after Begin).</summary>
    internal void StartTraining(int[] targets, float gradientScale)
    {
        Training = true;
        Targets = targets;
        GradientScale = gradientScale;
        _lossReady = false;
        _loss = null;
    }

    /// <summary>The pass's end (after the devices were waited for, or failed): the next pass starts as inference.</summary>
    private void EndTraining()
    {
        Training = false;
        Targets = Array.Empty<int>();
        _lossReady = false;
        ClearPartials();
        _preActivations.Clear();
        OutputGradient = null;
    }

    private void ExpectTraining(string step)
    {
        if (!Training)
            throw new InvalidOperationException($"{step} is a backward step: it needs a training pass (ShardedModelCore.BeginTraining), not a forward pass.");
    }

    /// <summary>The gradient twin of a block of this model.</summary>
    private ShardedTransformerBlock Twin(ShardedTransformerBlock block) => _core.GradientOf(block);

    /// <summary>
    /// Where device <paramref name="rank"/> accumulates the gradient of a replicated parameter (a norm's scale or shift,
    /// a bias added after a reduction, the position table) whose twin is <paramref name="twin"/>. With a replicated
    /// stream every device computes the same whole gradient straight into its twin. Under sequence parallelism
    /// (<paramref name="tokenShards"/>) each device sees only its own tokens: it accumulates into a zeroed partial,
    /// and <see cref="SumPartialGradients"/> all-reduces the partials into the twins at the backward's end. The twin
    /// itself cannot be all-reduced: it may hold earlier micro-batches' sums, which would count P times.
    /// Call it for every rank in order, also for ranks without tokens (their partial stays zero).
    /// </summary>
    private MatrixView ReplicatedGradient(int rank, MatrixView twin, bool tokenShards)
    {
        if (!tokenShards) return twin;
        var partial = ZeroedPartial(rank, twin.Rows, twin.Cols);
        if (_partials.Length != P)
        {
            _partials = new List<(MatrixView, MatrixView)>[P];
            for (int r = 0; r < P; r++) _partials[r] = new();
        }
        _partials[rank].Add((partial, twin));
        return partial;
    }

    /// <summary>
    /// A rows × cols gradient partial that accumulating kernels add into: a pooled activation (returned when the pass
    /// ends, like the others) zeroed on its device, since the pool hands out the last pass's values.
    /// </summary>
    private MatrixView ZeroedPartial(int rank, int rows, int cols)
    {
        var partial = Allocate(rank, rows, cols);
        Devices[rank].Zero(partial);
        return partial;
    }

    /// <summary>
    /// The end of a generated backward under sequence parallelism (a float model's Backward before its download, a
    /// language model's ForwardBackward before <see cref="Loss"/>): each replicated parameter's partial gradients (norm
    /// scales and shifts, output biases, a position table: every device's from its own tokens) all-reduced over the
    /// devices and added into its twins, one all-reduce per parameter. Without partials (a replicated stream, or
    /// already summed) it does nothing.
    /// </summary>
    public void SumReplicatedGradients()
    {
        ExpectTraining(nameof(SumReplicatedGradients));
        SumPartialGradients();
    }

    /// <summary>Sums each replicated parameter's partial gradients over the devices into its twins (sequence parallel only).</summary>
    private void SumPartialGradients()
    {
        // Every rank asked for the same parameters in the same order: the i-th partial of each rank is one parameter's.
        if (_partials.Length != P) return;
        for (int i = 0; i < _partials[0].Count; i++)
        {
            var views = _scratch.Views(P);
            for (int rank = 0; rank < P; rank++) views[rank] = _partials[rank][i].Partial;
            Mesh.Collectives.AllReduce(Mesh.World, views);
            for (int rank = 0; rank < P; rank++) Devices[rank].Add(views[rank], _partials[rank][i].Twin);
        }
        ClearPartials();
    }

    /// <summary>
    /// Throws when replicated parameters still hold unsummed per-device partial gradients: <paramref name="step"/> ends
    /// the backward (a language model's Loss, a float model's Download of dX), and the partials would be dropped with
    /// the pass. <paramref name="generated"/> is the generated method that calls it after the sums.
    /// </summary>
    private void ExpectSummedGradients(string step, string generated)
    {
        int pending = _partials.Length == P ? _partials[0].Count : 0;
        if (pending > 0)
            throw new InvalidOperationException($"{step}() ends the backward, but {pending} replicated parameter gradient(s) (norm scales " +
                $"and shifts, output biases, position tables) still hold each device's partial from its own tokens (sequence parallel): " +
                $"call {nameof(SumReplicatedGradients)}() after the last backward step and before {step}(), as the generated {generated} does.");
    }

    private void ClearPartials()
    {
        foreach (var list in _partials) list.Clear();
    }

    /// <summary>
    /// A tensor of this pass made of the given host pieces, <paramref name="pieces"/>[rank] uploaded to device rank as
    /// its shard: lets tests run one step (forward or backward) on chosen inputs.
    /// </summary>
    internal ShardedTensor Place(Placement placement, int features, float[][,] pieces)
    {
        var y = Next(placement, features);
        for (int rank = 0; rank < P; rank++)
        {
            var piece = pieces[rank];
            var view = y.ShardArray[rank] = Allocate(rank, piece.GetLength(0), piece.GetLength(1));
            if (view.Rows > 0) Devices[rank].Upload(HostMatrix.Span(piece), piece.GetLength(1), view);
        }
        return y;
    }
}
