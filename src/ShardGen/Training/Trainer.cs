using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;

namespace ShardGen.Training;

/// <summary>
/// Training steps of issue 14: D data-parallel replicas (each a tensor-parallel model on its own mesh; D = 1 usually),
/// an optimizer, optional global-norm clipping and <see cref="TrainingBatches"/> over <see cref="TokenData"/>. A step
/// zeroes the gradients, runs each replica's forward–backward on its windows (gradient scale 1/(B·L), so the sum over
/// replicas is the gradient of the global mean loss), sums the gradients across replicas, clips, and steps the
/// optimizer on every replica.
/// </summary>
public sealed class Trainer
{
    private readonly ITrainableLanguageModel[] _replicas;
    private readonly ModelTraining[] _trainings;
    private readonly int[][] _inputs, _targets;
    private readonly int[] _lengths;
    private readonly List<double> _losses = new();
    private readonly Stopwatch _clock = new();
    private readonly int _firstReplica;

    /// <param name="replicas">D models of the same checkpoint, each on its own mesh.</param>
    /// <param name="optimizer">Steps every replica alike.</param>
    /// <param name="data">The token ids (checked against the vocabulary and the window length here).</param>
    /// <param name="batches">B windows of L tokens per step, split over D = <paramref name="replicas"/>.Count.</param>
    /// <param name="clipNorm">torch.nn.utils.clip_grad_norm_'s max_norm, or null for no clipping.</param>
    /// <exception cref="TrainingDataException">An id outside the vocabulary (with its position), or too few tokens.</exception>
    public Trainer(IReadOnlyList<ITrainableLanguageModel> replicas, Optimizer optimizer, TokenData data, TrainingBatches batches, double? clipNorm = null)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        Data = data ?? throw new ArgumentNullException(nameof(data));
        Batches = batches ?? throw new ArgumentNullException(nameof(batches));
        if (replicas.Count == 0) throw new ArgumentException("A trainer needs at least one model.", nameof(replicas));
        if (replicas.Any(r => r is null)) throw new ArgumentNullException(nameof(replicas), "A replica is null.");
        // D: the models given, or on MPI (MpiDeviceMesh.CreateReplica) this process's one model of the job's D.
        (int replicaCount, _firstReplica) = ReplicaGroup.Layout(replicas.Select(r => r.Training).ToArray());
        if (batches.Replicas != replicaCount)
            throw new ArgumentException($"The batches split each step over {batches.Replicas} replicas, but there are {replicaCount} (models given, or the MPI mesh's replicas).", nameof(batches));
        if (replicas.Select(r => r.Mesh()).Distinct().Count() != replicas.Count)
            throw new ArgumentException("Each data-parallel replica needs its own mesh (and its own model); two share one.", nameof(replicas));
        if (replicas.Any(r => r.Vocab != replicas[0].Vocab))
            throw new ArgumentException($"The replicas have different vocabularies ({string.Join(", ", replicas.Select(r => r.Vocab))}): load the same checkpoint on each.", nameof(replicas));
        if (clipNorm is { } c && (!(c > 0) || !double.IsFinite(c)))
            throw new ArgumentOutOfRangeException(nameof(clipNorm), c, "The clipping norm must be positive and finite (or null for none).");
        data.Check(replicas[0].Vocab, batches.Sequence);
        if (data.Count != batches.TokenCount)
            throw new ArgumentException($"The batches were made for {batches.TokenCount} tokens, the data has {data.Count}.", nameof(batches));

        _replicas = replicas.ToArray();
        _trainings = _replicas.Select(r => r.Training).ToArray();
        ClipNorm = clipNorm;
        int tokens = batches.WindowsPerReplica * batches.Sequence;
        _inputs = _replicas.Select(_ => new int[tokens]).ToArray();
        _targets = _replicas.Select(_ => new int[tokens]).ToArray();
        _lengths = Enumerable.Repeat(batches.Sequence, batches.WindowsPerReplica).ToArray();
    }

    public Optimizer Optimizer { get; }
    public TokenData Data { get; }
    public TrainingBatches Batches { get; }
    public double? ClipNorm { get; }

    /// <summary>The next step's index (from 0): the steps taken so far.</summary>
    public long NextStep => _losses.Count;

    /// <summary>The mean loss of every step taken, in order.</summary>
    public IReadOnlyList<double> Losses => _losses;

    /// <summary>The global gradient norm of the last step, before clipping (computed only when clipping).</summary>
    public double? LastGradientNorm { get; private set; }

    /// <summary>Training tokens (B·L per step) per second of <see cref="Step()"/> so far.</summary>
    public double TokensPerSecond => _clock.Elapsed.TotalSeconds > 0 ? _losses.Count * (double)Batches.Batch * Batches.Sequence / _clock.Elapsed.TotalSeconds : 0;

    /// <summary>Runs step <see cref="NextStep"/>; returns its loss, the mean cross-entropy over the B·L targets.</summary>
    /// <exception cref="TrainingDivergedException">The loss is NaN or infinite: the optimizer did not step.</exception>
    public double Step()
    {
        long step = NextStep;
        _clock.Start();
        try
        {
            for (int r = 0; r < _replicas.Length; r++)
            {
                _trainings[r].ZeroGradients();
                Batches.Fill(Data, step, _firstReplica + r, _inputs[r], _targets[r]);
            }
            float scale = (float)(1.0 / ((double)Batches.Batch * Batches.Sequence));
            double sum = 0;
            foreach (double s in ForEachReplica(r => _replicas[r].ForwardBackward(_inputs[r], _targets[r], _lengths, scale))) sum += s;
            sum = ReplicaGroup.SumOverProcesses(_trainings, sum);   // on MPI, the other processes' replicas too
            double loss = sum / ((double)Batches.Batch * Batches.Sequence);
            if (!double.IsFinite(loss)) throw new TrainingDivergedException(step, loss);
            ReplicaGroup.SumGradients(_trainings);   // nothing to do for one replica
            if (ClipNorm is { } maxNorm)
            {
                double norm = _trainings[0].GradientNorm();   // after the sum every replica holds the same gradient
                LastGradientNorm = norm;
                foreach (var t in _trainings) t.ScaleGradients(norm, maxNorm);
            }
            Optimizer.Step(_trainings);
            _losses.Add(loss);
            return loss;
        }
        finally
        {
            _clock.Stop();
        }
    }

    // One task per replica (each drives its own mesh); the first failure is rethrown as it was thrown.
    private double[] ForEachReplica(Func<int, double> run)
    {
        var results = new double[_replicas.Length];
        if (_replicas.Length == 1)
        {
            results[0] = run(0);
            return results;
        }
        try
        {
            Parallel.For(0, _replicas.Length, new ParallelOptions { MaxDegreeOfParallelism = _replicas.Length }, r => results[r] = run(r));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return results;
    }
}

/// <summary>A training step whose loss is NaN or infinite; the message names the step. The optimizer did not take it.</summary>
public sealed class TrainingDivergedException : ShardingException
{
    public TrainingDivergedException(long step, double loss)
        : base($"The loss became {loss.ToString(System.Globalization.CultureInfo.InvariantCulture)} at step {step}: training diverged. Lower --lr, or clip the gradients.")
    {
        Step = step;
        Loss = loss;
    }

    public long Step { get; }
    public double Loss { get; }
}

internal static class ReplicaMeshes
{
    /// <summary>The mesh a replica's shards live on.</summary>
    public static DeviceMesh Mesh(this ITrainableLanguageModel model) => model.Training.Core.Mesh;
}
