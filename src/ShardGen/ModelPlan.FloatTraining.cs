using System;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen;

// TrainingMemory of a float model (linear layers and transformer blocks, float[,] in and out): the activations its
// generated Backward rents, step by step in plan order, forward then backward.
public sealed partial class ModelPlan
{
    /// <summary>True for a plan of a float model: no embedding (every language model starts with one).</summary>
    private bool IsFloatModel
    {
        get
        {
            foreach (var layer in Layers)
                if (layer is Embedding) return false;
            return true;
        }
    }

    /// <summary>
    /// Elements a float model's training pass rents on device <paramref name="rank"/>: for each step, what its forward
    /// allocates and what its backward allocates, with T tokens (tr the device's own under sequence parallelism) and
    /// [T, f] counted in the step's placement (replicated and partial sums T·f, column shards T·f/P, token shards tr·f).
    /// Forward: the input's upload; a column-parallel layer's [T, out/P] output; a row-parallel layer's [T, out] partial
    /// sums; a reduce-scatter's result and an all-gather's [T, f]; a layer with an activation keeps its pre-activation
    /// (its output's shape); an all-reduce works in place. Backward: the output gradient's upload (the output's shape);
    /// a column-parallel layer's [T, in] partial dX (its all-reduce in place), a row-parallel layer's [T, in/P] dX; a
    /// reduce-scatter's conjugate all-gather [T, f] and an all-gather's conjugate reduce-scatter; a bias's gradient after
    /// a reduce-scatter a zeroed [1, out] partial. A transformer block counts as in a language model (its steps'
    /// collectives included): <see cref="BlockActivations"/>, or <see cref="SequenceParallelBlock"/>.
    /// </summary>
    private long FloatModelActivations(long t, int rank)
    {
        long own = EvenRanges.Length((int)t, Devices, rank);
        long Elements(Placement placement, int features) => placement switch
        {
            { Kind: PlacementKind.Replicated or PlacementKind.Partial } => t * features,
            { Axis: ShardAxis.Features } => t * (features / Devices),
            { Axis: ShardAxis.Tokens } => own * features,
            _ => throw new NotSupportedException($"Model '{ModelName}': TrainingMemory does not count {placement} activations of a float model (SUMMA's grid steps are not counted yet)."),
        };

        long total = 0;
        TransformerBlock? block = null;
        foreach (var step in Steps)
        {
            var layer = step.LayerIndex >= 0 ? Layers[step.LayerIndex] : null;
            // A block's steps, and the collectives between its first and last, are its block's figure.
            if (layer is TransformerBlock b)
            {
                if (!ReferenceEquals(block, b))
                    total += SequenceParallel ? SequenceParallelBlock(b, t, own) : BlockActivations(b, t);
                block = step.Type is MlpResidual ? null : b;
                continue;
            }
            if (block is not null) continue;
            var linear = layer as Linear;
            bool keepsPreActivation = linear is { Activation: not Activation.None };
            switch (step.Type)
            {
                case UploadStep:
                    total += Elements(step.To, step.Features);
                    break;
                case Download:
                    total += Elements(step.From, step.Features);   // the output gradient's upload
                    break;
                case ColumnParallel:
                    total += (keepsPreActivation ? 2 : 1) * Elements(Placement.ColumnShards, linear!.OutFeatures);
                    total += t * linear.InFeatures;               // partial dX
                    break;
                case RowParallel:
                    total += t * linear!.OutFeatures + Elements(Placement.ColumnShards, linear.InFeatures);
                    break;
                case BiasActivation:
                    if (keepsPreActivation) total += Elements(step.To, linear!.OutFeatures);
                    if (linear!.HasBias && step.To != Placement.Replicated) total += linear.OutFeatures;
                    break;
                case AllReduce:
                    break;
                case ReduceScatter or AllGather:
                    // The forward's result, and the conjugate's in the source placement.
                    total += Elements(step.To, step.Features) + Elements(step.From == Placement.Partial ? Placement.Replicated : step.From, step.Features);
                    break;
                default:
                    throw new NotSupportedException($"Model '{ModelName}': TrainingMemory does not count a float model's {step.Kind} step yet (SUMMA's grid steps are not counted).");
            }
        }
        return total;
    }
}
