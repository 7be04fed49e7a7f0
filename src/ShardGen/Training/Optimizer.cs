using System;
using System.Collections.Generic;
using System.Globalization;

namespace ShardGen.Training;

/// <summary>
/// Updates a model's parameters from its gradients, slice by slice on each slice's own device (so optimizer states
/// are sharded exactly like the weights). <see cref="Step(IReadOnlyList{ModelTraining})"/> takes every data-parallel
/// replica at once: one step of the counter, the same update on each.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private protected Optimizer(double learningRate)
    {
        if (!(learningRate > 0) || !double.IsFinite(learningRate) || !float.IsFinite((float)learningRate) || (float)learningRate == 0)
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate,
                $"The learning rate {learningRate.ToString(CultureInfo.InvariantCulture)} must be a positive, finite number (for example 1e-3).");
        LearningRate = learningRate;
    }

    public double LearningRate { get; }

    /// <summary>Steps taken so far (AdamW's t is this after a step).</summary>
    public int Steps { get; private set; }

    /// <summary>One step of one model.</summary>
    public void Step(ModelTraining training)
    {
        ArgumentNullException.ThrowIfNull(training);
        int step = Steps + 1;
        Update(training, step);
        Steps = step;
    }

    /// <summary>One step: every replica's parameters updated from its own gradients (after they were summed across replicas).</summary>
    public void Step(IReadOnlyList<ModelTraining> replicas)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count == 0) throw new ArgumentException("Step needs at least one model.", nameof(replicas));
        // Index loops: a foreach over the interface would box an enumerator every step.
        for (int i = 0; i < replicas.Count; i++) ArgumentNullException.ThrowIfNull(replicas[i], nameof(replicas));
        int step = Steps + 1;
        for (int i = 0; i < replicas.Count; i++) Update(replicas[i], step);
        Steps = step;
    }

    /// <summary>Enqueues the update of every parameter slice of <paramref name="training"/> for step <paramref name="step"/> (from 1).</summary>
    private protected abstract void Update(ModelTraining training, int step);

    /// <summary>Frees the optimizer's device state.</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}

/// <summary>Stochastic gradient descent, torch.optim.SGD without momentum: w ← w − lr·g on every parameter.</summary>
public sealed class Sgd : Optimizer
{
    public Sgd(double learningRate) : base(learningRate) { }

    private protected override void Update(ModelTraining training, int step)
    {
        float lr = (float)LearningRate;
        var parameters = training.Parameters;
        for (int i = 0; i < parameters.Count; i++)
            parameters[i].Value.Device.SgdStep(parameters[i].Value, training.Gradients[i].Value, lr);
    }
}
