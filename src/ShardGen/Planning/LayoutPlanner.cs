using System.Collections.Generic;
using ShardGen.Planning.Steps;

namespace ShardGen.Planning;

/// <summary>
/// Propagates activation layouts through the layers and inserts the fewest steps that turn each layer's
/// output layout into the next one's input layout. Pure and Roslyn-free: the generator runs it to write
/// Forward, the runtime runs it to print the plan and predict bytes, so the two cannot disagree.
/// The plan's shape does not depend on the device count; only its sizes do.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class LayoutPlanner
{
    /// <summary>The layout a layer's local kernel needs its input in.</summary>
    public static TensorLayout InputLayout(ParallelStrategy strategy, bool sequenceParallel = false) => strategy switch
    {
        ParallelStrategy.ColumnParallel => TensorLayout.Replicated,
        ParallelStrategy.RowParallel => TensorLayout.ColumnSharded,
        ParallelStrategy.TransformerBlock or ParallelStrategy.TransformerStack or ParallelStrategy.PositionEmbedding or ParallelStrategy.FinalNorm
            => Stream(sequenceParallel),
        ParallelStrategy.VocabEmbedding => TensorLayout.Host,
        ParallelStrategy.LmHead => TensorLayout.Replicated,
        _ => TensorLayout.Blocks2D,
    };

    /// <summary>The residual stream's layout: replicated, or token shards with sequence parallelism.</summary>
    private static TensorLayout Stream(bool sequenceParallel) => sequenceParallel ? TensorLayout.TokenSharded : TensorLayout.Replicated;

    /// <summary>The layout a layer leaves its output in.</summary>
    public static TensorLayout OutputLayout(ParallelStrategy strategy, bool sequenceParallel = false) => strategy switch
    {
        ParallelStrategy.ColumnParallel => TensorLayout.ColumnSharded,
        ParallelStrategy.RowParallel => TensorLayout.PartialSum,
        ParallelStrategy.TransformerBlock or ParallelStrategy.TransformerStack or ParallelStrategy.PositionEmbedding or ParallelStrategy.FinalNorm
            => Stream(sequenceParallel),
        // Each device's lookups in its own vocabulary rows: partial sums of the embedded tokens, reduced next.
        ParallelStrategy.VocabEmbedding => TensorLayout.PartialSum,
        // Column shards over the vocabulary (uneven when it does not divide), gathered by the host.
        ParallelStrategy.LmHead => TensorLayout.ColumnSharded,
        _ => TensorLayout.Blocks2D,
    };

    /// <summary>
    /// Plans a forward pass over <paramref name="layers"/> (checked by <see cref="ShardRules"/>). With
    /// <paramref name="sequenceParallel"/>, transformer blocks keep the residual stream sharded by tokens:
    /// each all-reduce becomes a reduce-scatter over tokens, and an all-gather of tokens precedes the next
    /// column-parallel projection.
    /// </summary>
    public static IReadOnlyList<PlanStep> Plan(IReadOnlyList<LayerSpec> layers, bool sequenceParallel = false)
    {
        var steps = new List<PlanStep>();
        if (layers.Count == 0) return steps;

        var layout = TensorLayout.Host;
        int features = layers[0].InFeatures;
        int pendingEpilogue = -1; // a row-parallel layer whose bias/activation waits for the reduction
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var input = InputLayout(layer.Strategy, sequenceParallel);
            var output = OutputLayout(layer.Strategy, sequenceParallel);
            // The token embedding reads the ids the pass holds on the host: nothing is uploaded before it.
            if (layer.Strategy != ParallelStrategy.VocabEmbedding) Move(steps, layers, layout, input, features, ref pendingEpilogue);
            switch (layer.Strategy)
            {
                case ParallelStrategy.TransformerBlock:
                    AddBlock(steps, i, layer, input, -1);
                    break;
                case ParallelStrategy.TransformerStack:
                    // One block's steps, run once per block of the stack (the generated Forward's loop).
                    AddBlock(steps, i, layer, input, i);
                    break;
                case ParallelStrategy.VocabEmbedding:
                    steps.Add(new PlanStep(PlanStepKind.TokenEmbedding, i, layer.OutFeatures, TensorLayout.Host, output));
                    break;
                case ParallelStrategy.PositionEmbedding:
                    steps.Add(new PlanStep(PlanStepKind.PositionEmbedding, i, layer.OutFeatures, input, output));
                    break;
                case ParallelStrategy.FinalNorm:
                    steps.Add(new PlanStep(PlanStepKind.FinalNorm, i, layer.InFeatures, input, output));
                    break;
                default:
                    steps.Add(new PlanStep(LaunchKind(layer.Strategy), i, layer.InFeatures, input, output));
                    break;
            }
            layout = output;
            features = layer.OutFeatures;
            if (layer.Strategy == ParallelStrategy.RowParallel) pendingEpilogue = i;
        }
        Move(steps, layers, layout, TensorLayout.Host, features, ref pendingEpilogue);
        return steps;
    }

    // Megatron's layer: norm → QKV (column-parallel by heads) → attention on local heads → output projection
    // (row-parallel) → one reduction → bias + residual; then the same shape for the MLP. Two reductions in all.
    // In a stack (stack = its layer index) every step is marked as inside the stack's loop over its blocks.
    private static void AddBlock(List<PlanStep> steps, int index, LayerSpec layer, TensorLayout stream, int stack)
    {
        int first = steps.Count;
        var block = layer.Block!;
        int d = layer.InFeatures, attentionWidth = block.Heads * block.HeadDim(d);
        var reduced = stream == TensorLayout.TokenSharded ? PlanStepKind.ReduceScatter : PlanStepKind.AllReduce;

        int residual = Producer(steps, steps.Count - 1); // the step that produced the block's input
        steps.Add(new PlanStep(PlanStepKind.AttentionNorm, index, d, stream, stream));
        GatherTokens(steps, stream, d);
        steps.Add(new PlanStep(PlanStepKind.QkvProjection, index, d, TensorLayout.Replicated, TensorLayout.Heads));
        steps.Add(new PlanStep(PlanStepKind.Attention, index, attentionWidth, TensorLayout.Heads, TensorLayout.ColumnSharded));
        steps.Add(new PlanStep(PlanStepKind.AttentionOutput, index, attentionWidth, TensorLayout.ColumnSharded, TensorLayout.PartialSum));
        steps.Add(new PlanStep(reduced, -1, d, TensorLayout.PartialSum, stream));
        steps.Add(new PlanStep(PlanStepKind.AttentionResidual, index, d, stream, stream) { ResidualStep = residual });

        residual = Producer(steps, steps.Count - 1); // the reduction, whose output the residual add updated in place
        steps.Add(new PlanStep(PlanStepKind.MlpNorm, index, d, stream, stream));
        GatherTokens(steps, stream, d);
        steps.Add(new PlanStep(PlanStepKind.MlpUp, index, d, TensorLayout.Replicated, TensorLayout.ColumnSharded));
        steps.Add(new PlanStep(PlanStepKind.MlpDown, index, block.FfnHidden, TensorLayout.ColumnSharded, TensorLayout.PartialSum));
        steps.Add(new PlanStep(reduced, -1, d, TensorLayout.PartialSum, stream));
        steps.Add(new PlanStep(PlanStepKind.MlpResidual, index, d, stream, stream) { ResidualStep = residual });
        if (stack < 0) return;
        for (int k = first; k < steps.Count; k++) steps[k] = steps[k] with { Stack = stack };
    }

    /// <summary>The step whose output tensor step <paramref name="k"/> leaves behind (in-place steps pass theirs through).</summary>
    public static int Producer(IReadOnlyList<PlanStep> steps, int k)
    {
        while (k > 0 && steps[k].IsInPlace) k--;
        return k;
    }

    private static void GatherTokens(List<PlanStep> steps, TensorLayout stream, int features)
    {
        if (stream == TensorLayout.TokenSharded)
            steps.Add(new PlanStep(PlanStepKind.AllGather, -1, features, TensorLayout.TokenSharded, TensorLayout.Replicated));
    }

    private static PlanStepKind LaunchKind(ParallelStrategy strategy) => strategy switch
    {
        ParallelStrategy.ColumnParallel => PlanStepKind.ColumnParallel,
        ParallelStrategy.RowParallel => PlanStepKind.RowParallel,
        ParallelStrategy.LmHead => PlanStepKind.LmHead,
        _ => PlanStepKind.Summa2D,
    };

    /// <summary>
    /// Appends the steps that move the activation from <paramref name="from"/> to <paramref name="to"/>
    /// (<see cref="Transitions.Between"/>). A pending row-parallel epilogue (bias, activation) goes right after the
    /// reduction of its partial sums: added once, never to a partial sum.
    /// </summary>
    private static void Move(List<PlanStep> steps, IReadOnlyList<LayerSpec> layers, TensorLayout from,
        TensorLayout to, int features, ref int pendingEpilogue)
    {
        var layout = from;
        foreach (var type in Transitions.Between(Placement.Of(from), Placement.Of(to)))
        {
            var next = type.Output.Layout;
            steps.Add(new PlanStep(type.Kind, -1, features, layout, next));
            if (layout == TensorLayout.PartialSum && pendingEpilogue >= 0)
            {
                var layer = layers[pendingEpilogue];
                if (layer.HasBias || layer.Activation != Activation.None)
                    steps.Add(new PlanStep(PlanStepKind.BiasActivation, pendingEpilogue, features, next, next));
                pendingEpilogue = -1;
            }
            layout = next;
        }
    }
}
