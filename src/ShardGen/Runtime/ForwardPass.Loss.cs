using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// Vocab-parallel cross-entropy (Megatron's): each device reduces its own logit columns to per-token statistics, only
// those T-row vectors cross devices, and the logits are never gathered.
public sealed partial class ForwardPass
{
    private MatrixView[] _maxima = Array.Empty<MatrixView>(); // per device [T, P]: every device's row maxima side by side
    private MatrixView[] _sums = Array.Empty<MatrixView>();   // per device [T, 2]: Σ exp(l − m) | the target's logit, summed over devices
    private float[] _hostMaxima = Array.Empty<float>(), _hostSums = Array.Empty<float>(); // Loss's host copies of both
    private bool _lossReady;
    private double? _loss;

    /// <summary>
    /// Vocab-parallel cross-entropy of the logit shards (uneven vocabulary ranges) against the pass's targets. Returns
    /// dLogits = GradientScale·(softmax − onehot), written over the logits (their only reader is this step); the pass
    /// keeps the per-token statistics for <see cref="Loss"/>.
    /// </summary>
    public ShardedTensor<ColumnShards> CrossEntropy(ShardedTensor<ColumnShards> logits)
    {
        ExpectTraining(nameof(CrossEntropy));
        int vocab = _core.Plan.Vocab;
        if (logits.Placement != Placement.ColumnShards || logits.Features != vocab || logits.Tensor.Tokens != Targets.Length)
            throw new InvalidOperationException($"CrossEntropy needs the LM head's logit shards [{Targets.Length}, {vocab}], got {logits}.");
        if (_maxima.Length != P)
        {
            _maxima = new MatrixView[P];
            _sums = new MatrixView[P];
        }
        var own = _scratch.Views(P);
        var side = _scratch.Rows(P);
        for (int rank = 0; rank < P; rank++)
        {
            // Both are overwritten whole: the statistics fill column rank of the maxima and both columns of the sums,
            // the all-gather the maxima's other columns.
            _maxima[rank] = Allocate(rank, Tokens, P);
            _sums[rank] = Allocate(rank, Tokens, 2);
            own[rank] = _maxima[rank].Columns(rank, 1);
            for (int j = 0; j < P; j++) side[rank][j] = _maxima[rank].Columns(j, 1);
            Devices[rank].LogitStatistics(logits.ShardArray[rank], Targets, EvenRanges.Start(vocab, P, rank), own[rank], _sums[rank].Columns(1, 1));
        }
        // Collectives only sum, so the maxima travel side by side (an all-gather) and each kernel takes their maximum.
        Mesh.Collectives.AllGather(Mesh.World, own, side);
        for (int rank = 0; rank < P; rank++)
            Devices[rank].LogitSumExp(logits.ShardArray[rank], _maxima[rank], _sums[rank].Columns(0, 1));
        // One all-reduce for both sums: the target logit is non-zero on its owner only.
        Mesh.Collectives.AllReduce(Mesh.World, _sums);
        var d = Next(Placement.ColumnShards, vocab);
        for (int rank = 0; rank < P; rank++)
        {
            var shard = d.ShardArray[rank] = logits.ShardArray[rank];
            Devices[rank].CrossEntropyGradient(shard, Targets, EvenRanges.Start(vocab, P, rank), _maxima[rank], _sums[rank].Columns(0, 1), GradientScale, shard);
        }
        _lossReady = true;
        return new(d);
    }

    /// <summary>
    /// Waits for the devices and returns Σ_t loss_t of this pass (after CrossEntropy), loss_t = log Σ exp(l − m) + m −
    /// l_target, in double from one device's copy of the statistics. Ends the backward, so under sequence parallelism
    /// the replicated parameters' partial gradients must already be summed (<see cref="SumReplicatedGradients"/>): a
    /// partial left over would be lost, and that is an error. The pass then counts as completed.
    /// </summary>
    public double Loss()
    {
        ExpectTraining(nameof(Loss));
        if (!_lossReady) throw new InvalidOperationException("Loss() comes after CrossEntropy: the pass has no loss yet.");
        if (_loss is { } done) return done;
        ExpectSummedGradients(nameof(Loss), "ForwardBackward");
        Mesh.Synchronize();
        // Host copies kept for the next pass of as many tokens: row t of the maxima is [t·P, (t+1)·P), of the sums [2t, 2t+2).
        if (_hostMaxima.Length != Tokens * P)
        {
            _hostMaxima = new float[Tokens * P];
            _hostSums = new float[Tokens * 2];
        }
        var maxima = _hostMaxima;
        var sums = _hostSums;
        for (int rank = 0; rank < P; rank++) _pieces[rank] = new HostPiece(_maxima[rank], 0);
        Mesh.DownloadToHost(_pieces, true, maxima, P);
        for (int rank = 0; rank < P; rank++) _pieces[rank] = new HostPiece(_sums[rank], 0);
        Mesh.DownloadToHost(_pieces, true, sums, 2);
        double loss = 0;
        for (int t = 0; t < Tokens; t++)
        {
            double m = double.NegativeInfinity;
            for (int j = 0; j < P; j++) m = Math.Max(m, maxima[t * P + j]);
            loss += Math.Log(sums[2 * t]) + m - sums[2 * t + 1];
        }
        _downloaded = true;
        _loss = loss;
        return loss;
    }
}
