using System;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Training;

namespace ShardGen;

/// <summary>
/// A device's memory for training, in bytes, from a plan's shard shapes: the parameters, their gradients (twins of the
/// same shapes), the optimizer's states (AdamW: two per parameter) and the activations a training pass rents from the
/// model's pool (what the forward keeps for the backward, and the backward's own gradients of activations).
/// </summary>
public sealed record TrainingMemory(long Weights, long Gradients, long OptimizerState, long Activations)
{
    /// <summary>What stays allocated between steps (<see cref="Devices.Device.AllocatedBytes"/> after a step).</summary>
    public long Persistent => Weights + Gradients + OptimizerState;

    /// <summary>Everything: the persistent state and one training pass's activations.</summary>
    public long Total => Persistent + Activations;

    public override string ToString() =>
        $"{Total:N0} B: weights {Weights:N0}, gradients {Gradients:N0}, optimizer state {OptimizerState:N0}, activations {Activations:N0}";
}

public sealed partial class ModelPlan
{
    /// <summary>
    /// Device <paramref name="rank"/>'s training memory for a pass of <paramref name="tokens"/> tokens with
    /// <paramref name="optimizer"/>, counted from the shard shapes the way the runtime allocates: weights and gradient twins
    /// alike (a tied head's gradient is the embedding's), AdamW's m and v per parameter (SGD: none), and the buffers a
    /// training pass rents and keeps until its end (parked in the pool after it: <see cref="Devices.Device.PooledBytes"/>).
    /// Per block, with h the hidden size and the device's q|k|v, context and MLP widths: six [T, h] (the two norms' outputs,
    /// the two row-parallel partial sums, the two column-parallel input gradients), q|k|v and its gradient, the context and
    /// its gradient, and the MLP's [T, up] pre-activation, [T, ffn] activation and [T, ffn] gradient (gated: also the
    /// [T, 2·ffn] gate|up gradient; plain: its gradient overwrites the activation's). Key/value heads shared by devices
    /// (fewer KV heads than devices) add one [h (+1 with q/k/v biases), 2·headDim] partial of the KV head's gradient per
    /// block. Around the blocks: the embedding's rows (GPT-2: the position rows too), the final norm's output, the logit
    /// shard, the loss's [T, P] maxima and [T, 2] sums, and the head's input gradient. Sequence parallel plans are counted
    /// by <see cref="SequenceParallelActivations"/>. A float model (linear layers and transformer blocks): each layer's
    /// shards as split, and the activations its Backward rents step by step (<see cref="FloatModelActivations"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">A float model with SUMMA's grid steps (their panels are not counted yet).</exception>
    public TrainingMemory TrainingMemory(int tokens, Optimizer optimizer, int rank = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        if (rank < 0 || rank >= Devices)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"Model '{ModelName}' is planned on {Devices} devices: rank must be in [0, {Devices}).");
        long weights = 0, activations = 0, t = tokens;
        int states = optimizer is AdamW ? 2 : 0;
        long bytes = PlanCost.BytesPerElement;
        if (IsFloatModel)
        {
            foreach (var layer in Layers) weights += layer.BytesPerDevice / bytes;
            activations = FloatModelActivations(t, rank);
            return new TrainingMemory(weights * bytes, weights * bytes, states * weights * bytes, activations * bytes);
        }
        foreach (var layer in Layers)
        {
            switch (layer)
            {
                case Embedding e:
                    weights += (long)e.Rows(rank) * e.Hidden;
                    break;
                case Norm n:
                    weights += (long)n.Hidden * (n.Kind == NormKind.LayerNorm ? 2 : 1);
                    break;
                case TransformerStack s:
                    weights += s.Count * s.Block.BytesPerDevice / PlanCost.BytesPerElement;
                    break;
                case TransformerBlock b:
                    weights += b.BytesPerDevice / PlanCost.BytesPerElement;
                    break;
                case Linear { Strategy: ParallelStrategy.LmHead } head:
                    weights += (head.Tied ? 0 : (long)head.OutFeaturesOf(rank) * head.InFeatures) + head.BiasShardLength;
                    break;
                default:
                    throw new NotSupportedException($"Model '{ModelName}': TrainingMemory counts language models; layer '{layer.Name}' is a plain {layer.Spec.StrategyText} layer.");
            }
            activations += SequenceParallel ? SequenceParallelActivations(layer, t, rank) : ReplicatedActivations(layer, t, rank);
        }
        return new TrainingMemory(weights * bytes, weights * bytes, states * weights * bytes, activations * bytes);
    }

    /// <summary>Elements one layer's training pass rents on a device with a replicated residual stream.</summary>
    private long ReplicatedActivations(PlannedLayer layer, long t, int rank) => layer switch
    {
        // The gathered rows (token ids) or the position rows added to the stream.
        Embedding e => t * e.Hidden,
        Norm n => t * n.Hidden,
        TransformerStack s => s.Count * BlockActivations(s.Block, t),
        TransformerBlock b => BlockActivations(b, t),
        // The logit shard (its gradient overwrites it), the loss's maxima and sums, the input's gradient.
        Linear head => HeadActivations(head, t, rank),
        _ => 0,
    };

    /// <summary>Elements one block's training pass rents on a device (see <see cref="TrainingMemory"/>).</summary>
    private static long BlockActivations(TransformerBlock b, long t) =>
        t * (6L * b.Hidden + SplitActivations(b)) + SharedKvPartial(b);

    /// <summary>Per token, the block's activations on the devices' own columns: q|k|v, context and MLP, each with its gradient.</summary>
    private static long SplitActivations(TransformerBlock b)
    {
        long qkv = b.LocalQkvWidth, context = (long)b.LocalHeads * b.HeadDim, ffn = b.LocalFfn, up = b.LocalUpWidth;
        long mlp = b.Gated ? up + ffn + ffn + up : up + ffn + ffn;
        return 2 * qkv + 2 * context + mlp;
    }

    /// <summary>KV heads shared by devices: the [h (+ a bias row), 2·headDim] partial of the device's KV head's gradient.</summary>
    private static long SharedKvPartial(TransformerBlock b) =>
        b.KvHeads < b.Devices ? (b.Hidden + (b.HasQkvBias ? 1L : 0)) * 2L * b.LocalKvHeads * b.HeadDim : 0;

    /// <summary>The LM head's [T, V_r] logit shard (its gradient overwrites it), the loss's [T, P] maxima and [T, 2] sums, and the input's gradient.</summary>
    private long HeadActivations(Linear head, long t, int rank) => t * (head.OutFeaturesOf(rank) + Devices + 2 + head.InFeatures);

    /// <summary>
    /// Elements one layer's training pass rents on device <paramref name="rank"/> under sequence parallelism, with tr = its
    /// own tokens: the residual stream's [tr, h] pieces (norm outputs, reduce-scattered sums, the position rows), the
    /// all-gathered [T, h] inputs and gradients of the tensor-parallel regions, and, for each replicated parameter (norm
    /// scales and shifts, biases added after a reduction, the position table), a zeroed partial of its gradient.
    /// Per block: eight [T, h] (two all-gathered norm outputs, two row-parallel partial sums, two all-gathered stream
    /// gradients, two column-parallel input gradients), six [tr, h] (two norm outputs, four reduce-scattered sums) and the
    /// block's split activations as without sequence parallelism. The token embedding: its [T, h] partial sums, their
    /// [tr, h] reduce-scatter and the [T, h] gathered stream gradient of its backward. The final norm: [tr, h] and its
    /// [T, h] all-gather. The head: as without, and the [tr, h] reduce-scatter of its input's gradient.
    /// </summary>
    private long SequenceParallelActivations(PlannedLayer layer, long t, int rank)
    {
        long own = EvenRanges.Length((int)t, Devices, rank);
        switch (layer)
        {
            case Embedding { IsVocabParallel: true } e:
                return (2 * t + own) * e.Hidden;
            case Embedding positions:
                return own * positions.Hidden + (long)positions.Rows(rank) * positions.Hidden;
            case Norm n:
                return (own + t) * n.Hidden + NormPartials(n.Kind, n.Hidden);
            case TransformerStack s:
                return s.Count * SequenceParallelBlock(s.Block, t, own);
            case TransformerBlock b:
                return SequenceParallelBlock(b, t, own);
            case Linear head:
                return HeadActivations(head, t, rank) + own * head.InFeatures;
            default:
                return 0;
        }
    }

    private static long SequenceParallelBlock(TransformerBlock b, long t, long own) =>
        8 * t * b.Hidden + 6 * own * b.Hidden + t * SplitActivations(b) + SharedKvPartial(b)
        + 2 * NormPartials(b.Shape.Norm, b.Hidden) + (b.HasBias ? 2L * b.Hidden : 0);

    /// <summary>A norm's zeroed gradient partials under sequence parallelism: the scale's, and LayerNorm's shift's.</summary>
    private static long NormPartials(NormKind kind, int hidden) => (kind == NormKind.LayerNorm ? 2L : 1L) * hidden;
}
