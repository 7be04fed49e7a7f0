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
    /// [T, 2·ffn] gate|up gradient; plain: its gradient overwrites the activation's). Around the blocks: the embedding's
    /// rows (GPT-2: the position rows too), the final norm's output, the logit shard, the loss's [T, P] maxima and [T, 2]
    /// sums, and the head's input gradient. Plans with a replicated residual stream (no sequence parallelism) built from
    /// a language model's layers.
    /// </summary>
    /// <exception cref="NotSupportedException">A sequence-parallel plan, or one with plain linear layers.</exception>
    public TrainingMemory TrainingMemory(int tokens, Optimizer optimizer, int rank = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        if (rank < 0 || rank >= Devices)
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"Model '{ModelName}' is planned on {Devices} devices: rank must be in [0, {Devices}).");
        if (SequenceParallel)
            throw new NotSupportedException($"Model '{ModelName}': TrainingMemory counts plans with a replicated residual stream; this one is sequence parallel.");
        long weights = 0, activations = 0, t = tokens;
        foreach (var layer in Layers)
        {
            switch (layer)
            {
                case Embedding e:
                    weights += (long)e.Rows(rank) * e.Hidden;
                    activations += t * e.Hidden; // the gathered rows (token ids) or the position rows added to the stream
                    break;
                case Norm n:
                    weights += (long)n.Hidden * (n.Kind == NormKind.LayerNorm ? 2 : 1);
                    activations += t * n.Hidden;
                    break;
                case TransformerStack s:
                    weights += s.Count * s.Block.BytesPerDevice / PlanCost.BytesPerElement;
                    activations += s.Count * BlockActivations(s.Block, t);
                    break;
                case TransformerBlock b:
                    weights += b.BytesPerDevice / PlanCost.BytesPerElement;
                    activations += BlockActivations(b, t);
                    break;
                case Linear { Strategy: ParallelStrategy.LmHead } head:
                    weights += (head.Tied ? 0 : (long)head.OutFeaturesOf(rank) * head.InFeatures) + head.BiasShardLength;
                    // The logit shard (its gradient overwrites it), the loss's maxima and sums, the input's gradient.
                    activations += t * head.OutFeaturesOf(rank) + t * Devices + t * 2 + t * head.InFeatures;
                    break;
                default:
                    throw new NotSupportedException($"Model '{ModelName}': TrainingMemory counts language models; layer '{layer.Name}' is a plain {layer.Spec.StrategyText} layer.");
            }
        }
        int states = optimizer is AdamW ? 2 : 0;
        long bytes = PlanCost.BytesPerElement;
        return new TrainingMemory(weights * bytes, weights * bytes, states * weights * bytes, activations * bytes);
    }

    /// <summary>Elements one block's training pass rents on a device (see <see cref="TrainingMemory"/>).</summary>
    private static long BlockActivations(TransformerBlock b, long t)
    {
        long h = b.Hidden, qkv = b.LocalQkvWidth, context = (long)b.LocalHeads * b.HeadDim, ffn = b.LocalFfn, up = b.LocalUpWidth;
        long mlp = b.Gated ? up + ffn + ffn + up : up + ffn + ffn;
        return t * (6 * h + 2 * qkv + 2 * context + mlp);
    }
}
