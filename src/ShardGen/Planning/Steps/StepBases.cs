using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Host to devices: the model's input, placed as the first layer needs it. Nothing moves between devices.</summary>
internal abstract class UploadStep : StepType
{
    public override Placement Input => Placement.Host;
    public override StepCall Call => StepCall.Upload;
    public override StepBackward Backward { get; } = new(BackwardOp.HostTransfer, "the input's gradient, downloaded (when it is wanted)");
}

/// <summary>A placement change between layers: a collective, or a local slice that sends nothing.</summary>
internal abstract class TransitionStep : StepType
{
    public override StepCall Call => StepCall.Transition;
}

/// <summary>A collective over the whole mesh on the activation [T, F].</summary>
internal abstract class MeshCollectiveStep : TransitionStep
{
    public override bool IsCollective => true;

    /// <summary>The one collective the step issues.</summary>
    protected abstract CollectiveOp Op { get; }

    public override int Calls(CollectiveOp op, StepSizes s) => op == Op ? 1 : 0;

    /// <summary>Ring all-gather and reduce-scatter: (P−1)·n floats in total, P−1 message steps.</summary>
    public override long TotalBytes(StepSizes s) => StepSizes.Bytes((s.Devices - 1) * s.Elements);

    public override int LatencySteps(StepSizes s) => s.Devices - 1;

    public override string BytesFormula => "(P−1)/P";
}

/// <summary>A linear layer's launch: the local GEMM of its strategy, epilogue fused where the output is whole.</summary>
internal abstract class LaunchStep : StepType
{
    public override StepCall Call => StepCall.LinearLaunch;
    public override bool IsLaunch => true;

    public override double Flops(StepSizes s) => s.Layer is { } l ? 2.0 * s.Tokens * l.InFeatures * l.OutFeatures : 0;
}

/// <summary>A step of a transformer block; its comment speaks of the block's residual stream and heads.</summary>
internal abstract class BlockStep : StepType
{
    public override StepCall Call => StepCall.BlockLaunch;

    public override IEnumerable<string> Comment(StepContext c) => Comment(c, new BlockWords(c));

    protected abstract IEnumerable<string> Comment(StepContext c, BlockWords b);
}

/// <summary>
/// A transformer block's norm (attention or MLP), on the residual stream wherever it lives (replicated or token shards).
/// Its backward adds into the stream's gradient; under sequence parallelism the scale (and shift) gradients each device
/// formed from its own tokens are summed across the devices.
/// </summary>
internal abstract class BlockNormStep : BlockStep, IReplicatedParameters
{
    public (int Count, long Elements) ReplicatedParameters(LayerSpec layer) =>
        layer.Block is { } b ? (ReplicatedGradients.NormParameters(b.Norm), layer.InFeatures) : default;

    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Replicated;

    /// <param name="backwardMethod">The <see cref="IBackwardStepMethods"/> method of this norm's backward.</param>
    protected BlockNormStep(string backwardMethod) => Backward = new(BackwardOp.Local,
        "the norm's derivative per token, added into the residual stream's gradient; dScale and dShift summed over tokens",
        backwardMethod, BackwardCall.AddsToInputGradient);

    public override StepBackward Backward { get; }

    public override long BackwardTotalBytes(StepSizes s) =>
        s.Layer is { Block: { } b } l ? ReplicatedGradients.TotalBytes(s, ReplicatedGradients.NormParameters(b.Norm), l.InFeatures) : 0;

    public override int BackwardCalls(CollectiveOp op, StepSizes s) =>
        s.Layer is { Block: { } b } ? ReplicatedGradients.Calls(op, s, ReplicatedGradients.NormParameters(b.Norm)) : 0;

    public override string? BackwardCollectives(StepContext c) => c.Layer is { Block: { } b }
        ? ReplicatedGradients.Words(c, ReplicatedGradients.NormParameters(b.Norm), b.Norm == NormKind.LayerNorm ? "scale and shift" : "scale")
        : null;
}

/// <summary>The words a transformer block's comments share: its name, widths and residual stream.</summary>
internal sealed class BlockWords
{
    public BlockWords(StepContext c)
    {
        var layer = c.Block!;
        Layer = layer;
        Spec = layer.Block!;
        // In a stack's loop the step runs on block i of the stack: the generated loop's variable.
        Name = c.Step.InStack ? $"{layer.Name}[i]" : layer.Name;
        D = PlanText.Size(layer.InFeatures, "hidden");
        FfnShard = c.Text.SizeOverP(Spec.FfnHidden, "ffn");
        var step = c.Step;
        bool sharded = step.From == Placement.TokenShards || step.To == Placement.TokenShards;
        Rows = sharded ? c.Text.TokenShard : "T";
        Stream = step.From == Placement.TokenShards
            ? $"the residual stream's token block [{c.Text.TokenShard}, {D}] per device"
            : $"the residual stream [T, {D}], replicated: every device normalizes every token";
        StreamNote = step.From == Placement.TokenShards
            ? $"Sequence parallel: each device normalizes only its own tokens, 1/{c.Text.P} of the work and memory."
            : null;
        Bias = layer.HasBias ? "bias fused" : "no bias";
        QkvBias = layer.HasBias || Spec.QkvBias ? "bias fused" : "no bias";
    }

    public LayerSpec Layer { get; }
    public TransformerSpec Spec { get; }
    public string Name { get; }
    /// <summary>The hidden width as text.</summary>
    public string D { get; }
    public string FfnShard { get; }
    /// <summary>Rows of the residual stream on a device: "T", or "T/P" when sharded by tokens.</summary>
    public string Rows { get; }
    public string Stream { get; }
    public string? StreamNote { get; }
    public string Bias { get; }
    /// <summary>The q|k|v projection's bias words: it has one with every bias, or alone (Qwen2's q/k/v biases).</summary>
    public string QkvBias { get; }
}
