using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// The vocab-parallel token lookup (Megatron's VocabParallelEmbedding): each device looks every id up in its own range of
/// vocabulary rows and writes zeros for ids outside it, so the devices hold partial sums of the embedded tokens.
/// </summary>
internal sealed class TokenEmbedding : StepType
{
    public override Placement Input => Placement.Host;
    public override Placement Output => Placement.Partial;
    public override string Method => nameof(IStepMethods.TokenEmbedding);
    public override StepCall Call => StepCall.EmbeddingLookup;
    public override bool StartsLayer => true;
    public override StepBackward Backward { get; } =
        new(BackwardOp.Local, "each device adds the gradient rows of its own ids into its own table rows (scatter-add)",
            nameof(IBackwardStepMethods.TokenEmbeddingBackward), BackwardCall.Parameters);

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string vocab = PlanText.Size(layer.InFeatures, "vocab"), d = PlanText.Size(layer.OutFeatures, "hidden");
        string rows = c.Text.VocabShard(layer.InFeatures);
        yield return $"{layer.Name} (vocab-parallel embedding): the T token ids → each device looks up the ids in its own rows [{rows}, {d}] of the table [{vocab}, {d}] " +
            $"and writes zeros for the others → partial sums [T, {d}] per device.";
        yield return "No collective yet: exactly one device holds each id's row, so the reduction next sums one row and zeros.";
    }
}
