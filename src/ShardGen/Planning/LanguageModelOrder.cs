using System.Collections.Generic;

namespace ShardGen.Planning;

/// <summary>
/// The order of a language model's layers (SHARD007, like features that do not chain): the token embedding first, a
/// position embedding right after it, the LM head last, and one of each. The generated Forward takes token ids into the
/// embedding and returns the head's logits, so nothing else can stand before or after them.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class LanguageModelOrder
{
    public static List<ShardProblem> Check(IReadOnlyList<LayerSpec> layers)
    {
        var problems = new List<ShardProblem>();
        void Add(int layer, string message) => problems.Add(new ShardProblem(ShardProblemIds.FeaturesDoNotChain, layer, -1, message));

        int embedding = -1;
        var seen = new Dictionary<ParallelStrategy, int>();
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            if (!LanguageModelRules.IsLanguageModelKind(l.Strategy)) continue;
            if (l.Strategy != ParallelStrategy.TransformerStack && seen.TryGetValue(l.Strategy, out int first))
                Add(i, $"Layer '{l.Name}' is a second {l.StrategyText} after '{layers[first].Name}'; a language model has one: remove one of them.");
            else seen[l.Strategy] = i;
            switch (l.Strategy)
            {
                case ParallelStrategy.VocabEmbedding:
                    if (i != 0)
                        Add(i, $"Layer '{l.Name}' ([VocabParallelEmbedding]) turns token ids into the residual stream, so it must come first, but '{layers[0].Name}' " +
                            $"is declared before it: move '{l.Name}' to the top of the class.");
                    embedding = i;
                    break;
                case ParallelStrategy.PositionEmbedding:
                    if (embedding < 0 || i != embedding + 1)
                        Add(i, $"Layer '{l.Name}' ([PositionEmbedding]) adds to the token embedding, so it must come right after a [VocabParallelEmbedding] layer: " +
                            $"declare it directly below the token embedding.");
                    break;
                case ParallelStrategy.LmHead:
                    if (i != layers.Count - 1)
                        Add(i, $"Layer '{l.Name}' ([LmHead]) produces the logits, so it must come last, but '{layers[layers.Count - 1].Name}' is declared after it: " +
                            $"move '{l.Name}' to the end of the class.");
                    break;
            }
        }
        if (embedding < 0 && seen.Count > 0)
        {
            int at = System.Linq.Enumerable.Min(seen.Values);
            Add(at, $"Layer '{layers[at].Name}' ({layers[at].StrategyText}) belongs to a language model, which takes token ids: add a [VocabParallelEmbedding] layer first.");
        }
        return problems;
    }
}
