using System;
using System.Collections.Generic;
using System.Globalization;
using ShardGen.Devices;

namespace ShardGen.Training;

/// <summary>
/// torch.optim.AdamW with its defaults (β 0.9/0.999, ε 1e-8, weight decay 0.01 on every parameter, no amsgrad). The
/// moments m and v of each parameter slice live on that slice's device, allocated (zeros) at a model's first step.
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly Dictionary<ModelTraining, (MatrixView M, MatrixView V)[]> _states = new(ReferenceEqualityComparer.Instance);
    private readonly List<DeviceBuffer> _buffers = new();

    public AdamW(double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.01)
        : base(learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw Bad(nameof(beta1), beta1, "β₁ must be in [0, 1)");
        if (!(beta2 >= 0 && beta2 < 1)) throw Bad(nameof(beta2), beta2, "β₂ must be in [0, 1)");
        if (!(epsilon >= 0) || !double.IsFinite(epsilon)) throw Bad(nameof(epsilon), epsilon, "ε must be finite and ≥ 0");
        if (!(weightDecay >= 0) || !double.IsFinite(weightDecay)) throw Bad(nameof(weightDecay), weightDecay, "the weight decay must be finite and ≥ 0");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public double WeightDecay { get; }

    private protected override void Update(ModelTraining training, int step)
    {
        var states = State(training);
        var parameters = training.Parameters;
        for (int i = 0; i < parameters.Count; i++)
        {
            var w = parameters[i].Value;
            w.Device.AdamWStep(w, training.Gradients[i].Value, states[i].M, states[i].V, (float)LearningRate,
                (float)Beta1, (float)Beta2, (float)Epsilon, (float)WeightDecay, step);
        }
    }

    private (MatrixView M, MatrixView V)[] State(ModelTraining training)
    {
        if (_states.TryGetValue(training, out var states)) return states;
        if (Steps > 0)
            throw new InvalidOperationException($"AdamW has taken {Steps} steps without model '{training.Core.Plan.ModelName}': its moments would start at zero while the step count does not. Use a new AdamW for a new model.");
        var parameters = training.Parameters;
        states = new (MatrixView, MatrixView)[parameters.Count];
        for (int i = 0; i < parameters.Count; i++)
            states[i] = (Zeros(parameters[i].Value), Zeros(parameters[i].Value));
        _states[training] = states;
        return states;
    }

    private MatrixView Zeros(MatrixView like)
    {
        var buffer = like.Device.Allocate(like.Elements);   // zero-filled
        _buffers.Add(buffer);
        return buffer.AsMatrix(like.Rows, like.Cols);
    }

    public override void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
        _buffers.Clear();
        _states.Clear();
        base.Dispose();
    }

    private static ArgumentOutOfRangeException Bad(string name, double value, string rule) =>
        new(name, value, $"AdamW: {name} = {value.ToString(CultureInfo.InvariantCulture)}: {rule}.");
}
