using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen;

/// <summary>
/// A model's forward pass planned on a device count: per layer the strategy and shard shapes, and the
/// steps in order with the bytes each collective sends. <see cref="ToString"/> prints it as a table
/// for <see cref="Tokens"/> tokens.
/// </summary>
public sealed partial class ModelPlan
{
    private ModelPlan(string model, IReadOnlyList<LayerSpec> specs, int devices, int tokens, bool sequenceParallel)
    {
        ModelName = model;
        Devices = devices;
        Tokens = tokens;
        SequenceParallel = sequenceParallel;
        Layers = specs.Select((s, i) => s.Strategy switch
        {
            ParallelStrategy.TransformerBlock => (PlannedLayer)new TransformerBlock(s, i, devices),
            ParallelStrategy.TransformerStack => new TransformerStack(s, i, devices),
            ParallelStrategy.VocabEmbedding or ParallelStrategy.PositionEmbedding => new Embedding(s, i, devices),
            ParallelStrategy.FinalNorm => new Norm(s, i, devices),
            _ => new Linear(s, i, devices),
        }).ToArray();
        Steps = PlacementPlanner.Plan(specs, sequenceParallel);
        // Kept, not looked up: every training pass reads it, and a steady-state pass allocates nothing.
        Vocab = Layers.OfType<Embedding>().FirstOrDefault(e => e.IsVocabParallel)?.TableRows ?? 0;
    }

    /// <summary>
    /// Plans <paramref name="layers"/> on <paramref name="devices"/> devices. Throws a
    /// <see cref="ShardingException"/> (same IDs and words as the compile-time diagnostics) when the model
    /// cannot run there, or when <paramref name="declaredDevices"/> (the model's [ShardedModel(Devices = …)],
    /// 0 if unset) differs from <paramref name="devices"/>.
    /// </summary>
    public static ModelPlan Create(string model, IReadOnlyList<LayerSpec> layers, int devices, int declaredDevices = 0, int tokens = 1,
        bool sequenceParallel = false)
    {
        if (declaredDevices > 0 && declaredDevices != devices)
            throw new ShardingException(
                $"Model '{model}' is declared with [ShardedModel(Devices = {declaredDevices})] but the mesh has {devices} devices; " +
                $"create it on a mesh of {declaredDevices} devices, or change Devices.");
        var problems = ShardRules.Check(model, layers, devices);
        if (problems.Count > 0) throw new ShardingException(problems);
        if (tokens < 1) throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "A plan needs at least one token.");
        return new ModelPlan(model, layers, devices, tokens, sequenceParallel);
    }

    public string ModelName { get; }

    public int Devices { get; }

    /// <summary>Grid side q when the device count is a square (2D layers use a q×q grid), else 0.</summary>
    public int GridSide => PlanCost.GridSide(Devices);

    /// <summary>Token count the byte figures of <see cref="ToString"/> are given for.</summary>
    public int Tokens { get; }

    /// <summary>With sequence parallelism, transformer blocks keep their residual stream sharded by tokens.</summary>
    public bool SequenceParallel { get; }

    public IReadOnlyList<PlannedLayer> Layers { get; }

    /// <summary>Layer <paramref name="index"/>, which must be a linear layer.</summary>
    public Linear Linear(int index) => Layers[index] as Linear
        ?? throw new InvalidOperationException($"Layer {index} of '{ModelName}' ('{Layers[index].Name}') is not a linear layer.");

    /// <summary>Layer <paramref name="index"/>, which must be a transformer block.</summary>
    public TransformerBlock Block(int index) => Layers[index] as TransformerBlock
        ?? throw new InvalidOperationException($"Layer {index} of '{ModelName}' ('{Layers[index].Name}') is not a transformer block.");

    /// <summary>The block of layer <paramref name="index"/>: a transformer block, or one block of a stack.</summary>
    internal TransformerBlock BlockShape(int index) => Layers[index] is TransformerStack stack ? stack.Block : Block(index);

    /// <summary>Layer <paramref name="index"/>, which must be an embedding (token or position).</summary>
    public Embedding Embedding(int index) => Layers[index] as Embedding
        ?? throw new InvalidOperationException($"Layer {index} of '{ModelName}' ('{Layers[index].Name}') is not an embedding.");

    /// <summary>Layer <paramref name="index"/>, which must be a transformer stack.</summary>
    public TransformerStack Stack(int index) => Layers[index] as TransformerStack
        ?? throw new InvalidOperationException($"Layer {index} of '{ModelName}' ('{Layers[index].Name}') is not a transformer stack.");

    /// <summary>Layer <paramref name="index"/>, which must be a standalone norm.</summary>
    public Norm Norm(int index) => Layers[index] as Norm
        ?? throw new InvalidOperationException($"Layer {index} of '{ModelName}' ('{Layers[index].Name}') is not a norm.");

    /// <summary>The token embedding's vocabulary; 0 for a model without one.</summary>
    public int Vocab { get; }

    public IReadOnlyList<PlanStep> Steps { get; }

    /// <summary>
    /// How often <paramref name="step"/> runs in one forward pass: a stack's block count for the steps inside its loop,
    /// else 1. The byte, call and FLOP figures of a step are its runs together.
    /// </summary>
    public int Repeats(PlanStep step) => step.InStack ? Stack(step.Stack).Count : 1;

    /// <summary>The same plan, with byte figures for <paramref name="tokens"/> tokens.</summary>
    public ModelPlan WithTokens(int tokens) =>
        tokens == Tokens ? this : Create(ModelName, Layers.Select(l => l.Spec).ToArray(), Devices, 0, tokens, SequenceParallel);

    /// <summary>Bytes <paramref name="step"/> sends between devices, all devices together.</summary>
    public long PredictedTotalBytes(PlanStep step, int tokens) => Repeats(step) * step.Type.TotalBytes(Sizes(step, tokens));

    /// <summary>Bytes one forward pass of <paramref name="tokens"/> tokens sends, all devices together.</summary>
    public long PredictedTotalBytes(int tokens) => Steps.Sum(s => PredictedTotalBytes(s, tokens));

    /// <summary>Bytes one forward pass sends per device (total / P), the figure of the textbook formulas.</summary>
    public double PredictedBytesPerDevice(int tokens) => (double)PredictedTotalBytes(tokens) / Devices;

    /// <summary>Collective calls of <paramref name="kind"/> one forward pass issues (SUMMA's panel broadcasts included).</summary>
    public int PredictedCalls(CollectiveKind kind) => Steps.Sum(s => CallsOf(s, kind));

    /// <summary>Collective calls of <paramref name="kind"/> that <paramref name="step"/> issues (0 for local steps).</summary>
    public int PredictedCalls(PlanStep step, CollectiveKind kind) => CallsOf(step, kind);

    /// <summary>
    /// The backward of a generated ForwardBackward (a language model) or Backward (a float model of linear layers and transformer blocks), in the
    /// order it runs (every step's backward from the last step to the first); empty for a model without one.
    /// </summary>
    internal IReadOnlyList<BackwardStep> Backward => _backward ??=
        BackwardPlan.Supported(Steps) ? BackwardPlan.Of(Steps)
        // A float model's Backward: its steps between devices (the gradient's upload and download are host transfers).
        : BackwardPlan.SupportedLinear(Layers.Select(l => l.Spec).ToArray(), Steps) ? BackwardPlan.OfLinear(Steps)
        : Array.Empty<BackwardStep>();

    private IReadOnlyList<BackwardStep>? _backward;

    /// <summary>True when the model has a generated ForwardBackward (a language model) or Backward (a float model of linear layers and transformer blocks).</summary>
    public bool HasBackward => Backward.Count > 0;

    /// <summary>Bytes the backward of <paramref name="step"/> sends between devices, all devices together (its runs together).</summary>
    internal long PredictedBackwardTotalBytes(BackwardStep step, int tokens) =>
        Repeats(Steps[step.Index]) * BackwardPlan.TotalBytes(step, Sizes(Steps[step.Index], tokens));

    /// <summary>
    /// Bytes the backward of one ForwardBackward on <paramref name="tokens"/> tokens sends, all devices together: the
    /// loss's statistics, the conjugate collectives (Megatron's f and g, all-gather ↔ reduce-scatter) and under sequence
    /// parallelism the replicated parameters' gradients. A ForwardBackward's traffic is this plus the forward's
    /// (<see cref="PredictedTotalBytes(int)"/>). 0 for a model without a backward.
    /// </summary>
    public long PredictedBackwardTotalBytes(int tokens) => Backward.Sum(b => PredictedBackwardTotalBytes(b, tokens));

    /// <summary>The backward's bytes per device (total / P), next to <see cref="PredictedBytesPerDevice"/>.</summary>
    public double PredictedBackwardBytesPerDevice(int tokens) => (double)PredictedBackwardTotalBytes(tokens) / Devices;

    /// <summary>Collective calls of <paramref name="kind"/> the backward of one ForwardBackward issues.</summary>
    public int PredictedBackwardCalls(CollectiveKind kind) =>
        Backward.Sum(b => Repeats(Steps[b.Index]) * BackwardPlan.Calls(b, Op(kind), Sizes(Steps[b.Index], Tokens)));

    /// <summary>Weight and bias bytes held by each device.</summary>
    public long WeightBytesPerDevice => Layers.Sum(l => l.BytesPerDevice);

    private int CallsOf(PlanStep step, CollectiveKind kind) =>
        Repeats(step) * step.Type.Calls(Op(kind), Sizes(step, Tokens));

    /// <summary>The sizes <paramref name="step"/>'s figures depend on, for <paramref name="tokens"/> tokens.</summary>
    internal StepSizes Sizes(PlanStep step, int tokens) =>
        new(step, step.LayerIndex >= 0 ? Layers[step.LayerIndex].Spec : null, Devices, tokens);

    /// <summary>The planner's name of a runtime collective (the generator cannot see <see cref="CollectiveKind"/>).</summary>
    private static CollectiveOp Op(CollectiveKind kind) => kind switch
    {
        CollectiveKind.AllReduce => CollectiveOp.AllReduce,
        CollectiveKind.AllGather => CollectiveOp.AllGather,
        CollectiveKind.ReduceScatter => CollectiveOp.ReduceScatter,
        CollectiveKind.Broadcast => CollectiveOp.Broadcast,
        _ => CollectiveOp.Reduce,
    };

    /// <summary>
    /// Bytes of the residual stream each device holds at a transformer block's boundary for <paramref name="tokens"/>
    /// tokens: the whole [T, hidden] without sequence parallelism, its token block [T/P, hidden] with it.
    /// The norms and residual adds work on tensors of this size, so it is the activation memory sequence
    /// parallelism divides by P. 0 for models without blocks.
    /// </summary>
    public long ResidualStreamBytesPerDevice(int tokens)
    {
        var block = Layers.OfType<TransformerBlock>().FirstOrDefault() ?? Layers.OfType<TransformerStack>().FirstOrDefault()?.Block;
        if (block is null) return 0;
        long rows = SequenceParallel ? EvenRanges.Length(tokens, Devices, 0) : tokens;
        return rows * block.Hidden * PlanCost.BytesPerElement;
    }

    public override string ToString() => PlanFormatter.Format(this);

    /// <summary>The plan as a self-contained SVG drawing: one lane per device, steps with shard shapes, collectives as bands.</summary>
    public string ToSvg() => Diagrams.PlanDiagram.Draw(this);
}
