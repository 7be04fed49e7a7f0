using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using ShardGen.Collectives;

namespace ShardGen.Runtime;

/// <summary>
/// The state behind a generated model: its mesh, plan and resident layer shards. Generated code holds
/// one and calls it; users meet it through the generated members.
/// </summary>
public sealed class ShardedModelCore : IDisposable
{
    private readonly IShardedLayer[] _layers;
    private TrafficCheckpoint? _checkpoint;
    private bool _disposed;

    public ShardedModelCore(DeviceMesh mesh, ModelPlan plan, IShardedLayer[] layers)
    {
        Mesh = mesh ?? throw new ArgumentNullException(nameof(mesh));
        Plan = plan ?? throw new ArgumentNullException(nameof(plan));
        _layers = layers ?? throw new ArgumentNullException(nameof(layers));
    }

    public DeviceMesh Mesh { get; }

    public ModelPlan Plan { get; private set; }

    public IReadOnlyList<IShardedLayer> Layers => _layers;

    /// <summary>The shards of layer <paramref name="index"/>, a linear layer.</summary>
    public ShardedLinear Linear(int index) => (ShardedLinear)_layers[index];

    /// <summary>The shards of layer <paramref name="index"/>, a transformer block.</summary>
    public ShardedTransformerBlock Block(int index) => (ShardedTransformerBlock)_layers[index];

    /// <summary>Collectives measured during the last forward pass; null before the first.</summary>
    public TrafficReport? LastForward { get; private set; }

    /// <summary>
    /// Checks every layer's weights (given in layer order) against the plan and throws one
    /// <see cref="ShardingException"/> listing every problem, before anything is uploaded.
    /// </summary>
    public static void CheckWeights(ModelPlan plan, params LayerWeights?[] weights)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (weights.Length != plan.Layers.Count)
            throw new ArgumentException($"Model '{plan.ModelName}' has {plan.Layers.Count} layers but {weights.Length} weights were given.", nameof(weights));
        var problems = plan.Layers.Select((l, i) => LayerWeights.Check(l.Spec, weights[i])).OfType<string>().ToArray();
        if (problems.Length > 0)
            throw new ShardingException($"Cannot create '{plan.ModelName}': " + string.Join(" ", problems));
    }

    /// <summary>
    /// Starts a forward pass on <paramref name="x"/> ([tokens, in]); checks it first. Passes on one mesh
    /// run one at a time, so each pass's measured traffic is its own.
    /// </summary>
    public ForwardPass BeginForward(float[,] x) => BeginForward(x, null);

    /// <summary>
    /// Starts a forward pass over several sequences packed along the token dimension:
    /// <paramref name="sequenceLengths"/> must add up to x's rows (null: one sequence). Attention never crosses them.
    /// </summary>
    public ForwardPass BeginForward(float[,] x, int[]? sequenceLengths)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(x);
        Mesh.VerifyForwardInput(x, sequenceLengths);
        var first = Plan.Layers[0];
        if (x.GetLength(1) != first.InFeatures || x.GetLength(0) < 1)
            throw new ArgumentException(
                $"{Plan.ModelName}.Forward: x is [{x.GetLength(0)}, {x.GetLength(1)}] but the first layer '{first.Name}' takes {first.InFeatures} input features; " +
                $"pass x as [tokens ≥ 1, {first.InFeatures}].", nameof(x));
        var starts = SequenceStarts(x.GetLength(0), sequenceLengths);
        Monitor.Enter(Mesh.ExecutionGate);
        _checkpoint = Mesh.Stats.Checkpoint();
        return new ForwardPass(this, x, starts);
    }

    private int[] SequenceStarts(int tokens, int[]? lengths)
    {
        if (lengths is null) return new[] { 0, tokens };
        var starts = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++)
        {
            if (lengths[s] < 1)
                throw new ArgumentException($"{Plan.ModelName}.Forward: sequence {s} has length {lengths[s]}; every sequence needs at least one token.", nameof(lengths));
            starts[s + 1] = starts[s] + lengths[s];
        }
        if (lengths.Length == 0 || starts[^1] != tokens)
            throw new ArgumentException(
                $"{Plan.ModelName}.Forward: the sequence lengths add up to {starts[^1]} but x has {tokens} tokens; they must be equal.", nameof(lengths));
        return starts;
    }

    /// <param name="completed">True when the pass reached its download: only then may the mesh complete the figures
    /// with other processes (a pass that failed half-way must not start another collective).</param>
    internal void EndForward(bool completed = true)
    {
        try
        {
            var measured = Mesh.Stats.Since(_checkpoint!);
            LastForward = completed ? Mesh.CompleteTraffic(measured) : measured;
        }
        finally
        {
            Monitor.Exit(Mesh.ExecutionGate);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var layer in _layers) layer?.Dispose();
    }
}
