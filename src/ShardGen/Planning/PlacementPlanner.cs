using System.Collections.Generic;
using ShardGen.Planning.Steps;

namespace ShardGen.Planning;

/// <summary>
/// Propagates activation placements through the layers and inserts the fewest steps that turn each layer's
/// output placement into the next one's input placement. Pure and Roslyn-free: the generator runs it to write
/// Forward, the runtime runs it to print the plan and predict bytes, so the two cannot disagree.
/// The plan's shape does not depend on the device count; only its sizes do.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class PlacementPlanner
{
    /// <summary>The placement a layer's local kernel needs its input in.</summary>
    public static Placement InputPlacement(ParallelStrategy strategy, bool sequenceParallel = false) => strategy switch
    {
        ParallelStrategy.ColumnParallel => Placement.Replicated,
        ParallelStrategy.RowParallel => Placement.ColumnShards,
        ParallelStrategy.TransformerBlock or ParallelStrategy.TransformerStack or ParallelStrategy.PositionEmbedding or ParallelStrategy.FinalNorm
            => Stream(sequenceParallel),
        ParallelStrategy.VocabEmbedding => Placement.Host,
        ParallelStrategy.LmHead => Placement.Replicated,
        _ => Placement.Grid2D,
    };

    /// <summary>The residual stream's placement: replicated, or token shards with sequence parallelism.</summary>
    private static Placement Stream(bool sequenceParallel) => sequenceParallel ? Placement.TokenShards : Placement.Replicated;

    /// <summary>The placement a layer leaves its output in.</summary>
    public static Placement OutputPlacement(ParallelStrategy strategy, bool sequenceParallel = false) => strategy switch
    {
        ParallelStrategy.ColumnParallel => Placement.ColumnShards,
        ParallelStrategy.RowParallel => Placement.Partial,
        ParallelStrategy.TransformerBlock or ParallelStrategy.TransformerStack or ParallelStrategy.PositionEmbedding or ParallelStrategy.FinalNorm
            => Stream(sequenceParallel),
        // Each device's lookups in its own vocabulary rows: partial sums of the embedded tokens, reduced next.
        ParallelStrategy.VocabEmbedding => Placement.Partial,
        // Column shards over the vocabulary (uneven when it does not divide), gathered by the host.
        ParallelStrategy.LmHead => Placement.ColumnShards,
        _ => Placement.Grid2D,
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

        var placement = Placement.Host;
        int features = layers[0].InFeatures;
        int pendingEpilogue = -1; // a row-parallel layer whose bias/activation waits for the reduction
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var input = InputPlacement(layer.Strategy, sequenceParallel);
            var output = OutputPlacement(layer.Strategy, sequenceParallel);
            // The token embedding reads the ids the pass holds on the host: nothing is uploaded before it.
            if (layer.Strategy != ParallelStrategy.VocabEmbedding) Move(steps, layers, placement, input, features, ref pendingEpilogue);
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
                    steps.Add(new PlanStep(StepCatalog.Get<TokenEmbedding>(), i, layer.OutFeatures, Placement.Host, output));
                    break;
                case ParallelStrategy.PositionEmbedding:
                    steps.Add(new PlanStep(StepCatalog.Get<PositionEmbedding>(), i, layer.OutFeatures, input, output));
                    break;
                case ParallelStrategy.FinalNorm:
                    steps.Add(new PlanStep(StepCatalog.Get<FinalNorm>(), i, layer.InFeatures, input, output));
                    break;
                default:
                    steps.Add(new PlanStep(Launch(layer.Strategy), i, layer.InFeatures, input, output));
                    break;
            }
            placement = output;
            features = layer.OutFeatures;
            if (layer.Strategy == ParallelStrategy.RowParallel) pendingEpilogue = i;
        }
        Move(steps, layers, placement, Placement.Host, features, ref pendingEpilogue);
        return steps;
    }

    // Megatron's layer: norm → QKV (column-parallel by heads) → attention on local heads → output projection
    // (row-parallel) → one reduction → bias + residual; then the same shape for the MLP. Two reductions in all.
    // In a stack (stack = its layer index) every step is marked as inside the stack's loop over its blocks.
    private static void AddBlock(List<PlanStep> steps, int index, LayerSpec layer, Placement stream, int stack)
    {
        int first = steps.Count;
        var block = layer.Block!;
        int d = layer.InFeatures, attentionWidth = block.Heads * block.HeadDim(d);
        // The reduction of the row-parallel partial sums onto the stream: all-reduce, or reduce-scatter over tokens.
        var reduced = Transitions.Between(Placement.Partial, stream)[0];

        int residual = Producer(steps, steps.Count - 1); // the step that produced the block's input
        steps.Add(new PlanStep(StepCatalog.Get<AttentionNorm>(), index, d, stream, stream));
        GatherTokens(steps, stream, d);
        steps.Add(new PlanStep(StepCatalog.Get<QkvProjection>(), index, d, Placement.Replicated, Placement.HeadShards));
        steps.Add(new PlanStep(StepCatalog.Get<Attention>(), index, attentionWidth, Placement.HeadShards, Placement.ColumnShards));
        steps.Add(new PlanStep(StepCatalog.Get<AttentionOutput>(), index, attentionWidth, Placement.ColumnShards, Placement.Partial));
        steps.Add(new PlanStep(reduced, -1, d, Placement.Partial, stream));
        steps.Add(new PlanStep(StepCatalog.Get<AttentionResidual>(), index, d, stream, stream) { ResidualStep = residual });

        residual = Producer(steps, steps.Count - 1); // the reduction, whose output the residual add updated in place
        steps.Add(new PlanStep(StepCatalog.Get<MlpNorm>(), index, d, stream, stream));
        GatherTokens(steps, stream, d);
        steps.Add(new PlanStep(StepCatalog.Get<MlpUp>(), index, d, Placement.Replicated, Placement.ColumnShards));
        steps.Add(new PlanStep(StepCatalog.Get<MlpDown>(), index, block.FfnHidden, Placement.ColumnShards, Placement.Partial));
        steps.Add(new PlanStep(reduced, -1, d, Placement.Partial, stream));
        steps.Add(new PlanStep(StepCatalog.Get<MlpResidual>(), index, d, stream, stream) { ResidualStep = residual });
        if (stack < 0) return;
        for (int k = first; k < steps.Count; k++) steps[k] = steps[k] with { Stack = stack };
    }

    /// <summary>The step whose output tensor step <paramref name="k"/> leaves behind (in-place steps pass theirs through).</summary>
    public static int Producer(IReadOnlyList<PlanStep> steps, int k)
    {
        while (k > 0 && steps[k].IsInPlace) k--;
        return k;
    }

    private static void GatherTokens(List<PlanStep> steps, Placement stream, int features)
    {
        if (stream == Placement.TokenShards)
            steps.Add(new PlanStep(StepCatalog.Get<AllGather>(stream, Placement.Replicated), -1, features, stream, Placement.Replicated));
    }

    private static StepType Launch(ParallelStrategy strategy) => strategy switch
    {
        ParallelStrategy.ColumnParallel => StepCatalog.Get<ColumnParallel>(),
        ParallelStrategy.RowParallel => StepCatalog.Get<RowParallel>(),
        ParallelStrategy.LmHead => StepCatalog.Get<LmHead>(),
        _ => StepCatalog.Get<Summa2D>(),
    };

    /// <summary>
    /// Appends the steps that move the activation from <paramref name="from"/> to <paramref name="to"/>
    /// (<see cref="Transitions.Between"/>). A pending row-parallel epilogue (bias, activation) goes right after the
    /// reduction of its partial sums: added once, never to a partial sum.
    /// </summary>
    private static void Move(List<PlanStep> steps, IReadOnlyList<LayerSpec> layers, Placement from,
        Placement to, int features, ref int pendingEpilogue)
    {
        var placement = from;
        foreach (var type in Transitions.Between(from, to))
        {
            var next = type.Output;
            steps.Add(new PlanStep(type, -1, features, placement, next));
            if (placement == Placement.Partial && pendingEpilogue >= 0)
            {
                var layer = layers[pendingEpilogue];
                if (layer.HasBias || layer.Activation != Activation.None)
                    steps.Add(new PlanStep(StepCatalog.Get<BiasActivation>(), pendingEpilogue, features, next, next));
                pendingEpilogue = -1;
            }
            placement = next;
        }
    }
}
