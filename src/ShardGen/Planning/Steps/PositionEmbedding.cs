using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Learned position embeddings (GPT-2's wpe), replicated: each token's row added in place to the residual stream.</summary>
internal sealed class PositionEmbedding : StepType, IReplicatedParameters
{
    public (int Count, long Elements) ReplicatedParameters(LayerSpec layer) => (1, (long)layer.InFeatures * layer.OutFeatures);

    public override Placement Input => Placement.Replicated;
    public override bool AcceptsAnyInput => true;
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.PositionEmbedding);
    public override StepCall Call => StepCall.EmbeddingInPlace;
    public override bool StartsLayer => true;
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "the gradient flows on unchanged; each position's table row gathers the gradient of its tokens",
        nameof(IBackwardStepMethods.PositionEmbeddingBackward), BackwardCall.Parameters);

    public override long BackwardTotalBytes(StepSizes s) =>
        s.Layer is { } l ? ReplicatedGradients.TotalBytes(s, 1, (long)l.InFeatures * l.OutFeatures) : 0;

    public override int BackwardCalls(CollectiveOp op, StepSizes s) => s.Layer is not null ? ReplicatedGradients.Calls(op, s, 1) : 0;

    public override string? BackwardCollectives(StepContext c) => ReplicatedGradients.Words(c, 1, "position table");

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string d = PlanText.Size(layer.OutFeatures, "hidden");
        string rows = c.Step.From == Placement.TokenShards ? $"[{c.Text.TokenShard}, {d}], each device's own tokens" : $"[T, {d}] on every device";
        yield return $"{layer.Name} (position embedding, table [{PlanText.Size(layer.InFeatures, "positions")}, {d}] replicated): + the row of each token's position, in place on {rows}.";
        yield return "Positions restart at 0 in each packed sequence and continue from the cache's length with a KV cache; no collective.";
    }
}
