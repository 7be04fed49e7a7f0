using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;

namespace ShardGen.Checkpoints;

/// <summary>
/// Where each part of a language model is in its layer list (the <see cref="WeightKey.Layer"/> of its tensors):
/// token embedding, position embedding (−1 when the model has none), transformer stack, final norm and LM head.
/// </summary>
public sealed record LanguageModelLayers(int Embedding, int Positions, int Stack, int FinalNorm, int Head)
{
    /// <summary>Finds the parts in <paramref name="layers"/>; each must be there once (positions at most once).</summary>
    public static LanguageModelLayers Of(IReadOnlyList<LayerSpec> layers)
    {
        int One(ParallelStrategy kind, string attribute, bool optional = false)
        {
            var found = Enumerable.Range(0, layers.Count).Where(i => layers[i].Strategy == kind).ToList();
            if (found.Count == 1 || optional && found.Count == 0) return found.Count == 1 ? found[0] : -1;
            throw new ShardingException(found.Count == 0
                ? $"The model has no {attribute} layer; a language model loaded from a checkpoint has a [VocabParallelEmbedding], a [TransformerStack], a [FinalNorm] and an [LmHead] (GPT-2 also a [PositionEmbedding]): add it (docs/checkpoints.md)."
                : $"The model has {found.Count} {attribute} layers ({string.Join(", ", found.Select(i => $"'{layers[i].Name}'"))}); a checkpoint's tensors map to one: keep one.");
        }

        return new LanguageModelLayers(
            One(ParallelStrategy.VocabEmbedding, "[VocabParallelEmbedding]"),
            One(ParallelStrategy.PositionEmbedding, "[PositionEmbedding]", optional: true),
            One(ParallelStrategy.TransformerStack, "[TransformerStack]"),
            One(ParallelStrategy.FinalNorm, "[FinalNorm]"),
            One(ParallelStrategy.LmHead, "[LmHead]"));
    }
}
