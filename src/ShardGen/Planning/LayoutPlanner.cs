using System.Collections.Generic;

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
    public static TensorLayout InputLayout(ParallelStrategy strategy) => strategy switch
    {
        ParallelStrategy.ColumnParallel => TensorLayout.Replicated,
        ParallelStrategy.RowParallel => TensorLayout.ColumnSharded,
        _ => TensorLayout.Blocks2D,
    };

    /// <summary>The layout a layer's local kernel leaves its output in.</summary>
    public static TensorLayout OutputLayout(ParallelStrategy strategy) => strategy switch
    {
        ParallelStrategy.ColumnParallel => TensorLayout.ColumnSharded,
        ParallelStrategy.RowParallel => TensorLayout.PartialSum,
        _ => TensorLayout.Blocks2D,
    };

    /// <summary>Plans a forward pass over <paramref name="layers"/> (checked by <see cref="ShardRules"/>).</summary>
    public static IReadOnlyList<PlanStep> Plan(IReadOnlyList<LayerSpec> layers)
    {
        var steps = new List<PlanStep>();
        if (layers.Count == 0) return steps;

        var layout = TensorLayout.Host;
        int features = layers[0].InFeatures;
        int pendingEpilogue = -1; // a row-parallel layer whose bias/activation waits for the reduction
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            Move(steps, layers, layout, InputLayout(layer.Strategy), features, ref pendingEpilogue);
            steps.Add(new PlanStep(LaunchKind(layer.Strategy), i, layer.InFeatures,
                InputLayout(layer.Strategy), OutputLayout(layer.Strategy)));
            layout = OutputLayout(layer.Strategy);
            features = layer.OutFeatures;
            if (layer.Strategy == ParallelStrategy.RowParallel) pendingEpilogue = i;
        }
        Move(steps, layers, layout, TensorLayout.Host, features, ref pendingEpilogue);
        return steps;
    }

    private static PlanStepKind LaunchKind(ParallelStrategy strategy) => strategy switch
    {
        ParallelStrategy.ColumnParallel => PlanStepKind.ColumnParallel,
        ParallelStrategy.RowParallel => PlanStepKind.RowParallel,
        _ => PlanStepKind.Summa2D,
    };

    private static void Move(List<PlanStep> steps, IReadOnlyList<LayerSpec> layers, TensorLayout from,
        TensorLayout to, int features, ref int pendingEpilogue)
    {
        void Add(PlanStepKind kind, TensorLayout a, TensorLayout b) => steps.Add(new PlanStep(kind, -1, features, a, b));

        if (from == TensorLayout.PartialSum)
        {
            // Partial sums are reduced first: into shards when the consumer wants shards (half the bytes
            // of an all-reduce), else whole on every device. The bias is added once, after the reduction.
            bool toShards = to is TensorLayout.ColumnSharded or TensorLayout.Blocks2D;
            var reduced = toShards ? TensorLayout.ColumnSharded : TensorLayout.Replicated;
            Add(toShards ? PlanStepKind.ReduceScatter : PlanStepKind.AllReduce, from, reduced);
            var layer = layers[pendingEpilogue];
            if (layer.HasBias || layer.Activation != Activation.None)
                steps.Add(new PlanStep(PlanStepKind.BiasActivation, pendingEpilogue, features, reduced, reduced));
            pendingEpilogue = -1;
            from = reduced;
        }
        if (from == to) return;

        switch (from, to)
        {
            case (TensorLayout.Host, TensorLayout.Replicated): Add(PlanStepKind.UploadReplicated, from, to); break;
            case (TensorLayout.Host, TensorLayout.ColumnSharded): Add(PlanStepKind.UploadColumnShards, from, to); break;
            case (TensorLayout.Host, TensorLayout.Blocks2D): Add(PlanStepKind.UploadBlocks, from, to); break;
            case (TensorLayout.Replicated, TensorLayout.ColumnSharded): Add(PlanStepKind.SliceColumns, from, to); break;
            case (TensorLayout.Replicated, TensorLayout.Blocks2D): Add(PlanStepKind.SliceBlocks, from, to); break;
            case (TensorLayout.ColumnSharded, TensorLayout.Replicated): Add(PlanStepKind.AllGather, from, to); break;
            case (TensorLayout.ColumnSharded, TensorLayout.Blocks2D): Add(PlanStepKind.ColumnShardsToBlocks, from, to); break;
            case (TensorLayout.Blocks2D, TensorLayout.Replicated): Add(PlanStepKind.BlocksToReplicated, from, to); break;
            case (TensorLayout.Blocks2D, TensorLayout.ColumnSharded): Add(PlanStepKind.BlocksToColumnShards, from, to); break;
            // Any device layout goes to the host directly: the host reads each piece once, no collective.
            case (_, TensorLayout.Host): Add(PlanStepKind.Download, from, to); break;
        }
    }
}
