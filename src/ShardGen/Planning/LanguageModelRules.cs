using System.Collections.Generic;
using System.Globalization;

namespace ShardGen.Planning;

/// <summary>
/// The parts of <see cref="ShardRules"/> for the layers of a language model, whose sizes may be left open (0: read
/// from config.json at load). At build time a rule is checked on what is set and skips what is open; at load every
/// size is known and the same rule, with the same words, checks all of them.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class LanguageModelRules
{
    /// <summary>The embeddings, the stack, the final norm and the head: the kinds whose sizes may be open.</summary>
    public static bool IsLanguageModelKind(ParallelStrategy strategy) => strategy >= ParallelStrategy.VocabEmbedding;

    public static bool HasLanguageModelLayer(IReadOnlyList<LayerSpec> layers)
    {
        foreach (var l in layers)
            if (IsLanguageModelKind(l.Strategy)) return true;
        return false;
    }

    /// <summary>SHARD006 for a negative size (or ε) of a language-model layer, named as its attribute names it; null when none.</summary>
    public static string? SizeProblem(LayerSpec l)
    {
        var (inName, outName) = l.Strategy switch
        {
            ParallelStrategy.VocabEmbedding => ("Vocab", "Hidden"),
            ParallelStrategy.PositionEmbedding => ("Positions", "Hidden"),
            ParallelStrategy.LmHead => ("Hidden", "Vocab"),
            _ => ("Hidden", null), // In = Out
        };
        var negative = new List<string>();
        if (l.InFeatures < 0) negative.Add($"{inName} = {l.InFeatures}");
        if (outName is not null && l.OutFeatures < 0) negative.Add($"{outName} = {l.OutFeatures}");
        if (l.Strategy == ParallelStrategy.FinalNorm && !(l.NormEpsilon >= 0)) negative.Add($"Epsilon = {Text(l.NormEpsilon)}");
        return negative.Count == 0 ? null
            : $"Layer '{l.Name}' declares {string.Join(" and ", negative)}; {(negative.Count == 1 ? "it" : "both")} must be positive (or 0, read from config.json).";
    }

    /// <summary>SHARD017 for a transformer stack's per-block shape, on the sizes that are set; null when none is wrong.</summary>
    public static string? StackShapeProblem(LayerSpec l)
    {
        var b = l.Block!;
        int hidden = l.InFeatures;
        var negative = new List<string>();
        foreach (var (name, value) in new[] { ("Layers", b.Layers), ("Heads", b.Heads), ("KvHeads", b.KvHeads), ("FfnHidden", b.FfnHidden) })
            if (value < 0) negative.Add($"{name} = {value}");
        if (negative.Count > 0)
            return $"Stack '{l.Name}' declares {string.Join(", ", negative)}; Layers, Heads, KvHeads and FfnHidden must be positive (or 0, read from config.json).";
        if (hidden > 0 && b.Heads > 0 && hidden % b.Heads != 0)
            return $"Stack '{l.Name}' has hidden size {hidden}, which does not split into {b.Heads} heads of equal width; choose heads dividing {hidden}.";
        if (b.Heads > 0 && b.KvHeads > 0 && b.Heads % b.KvHeads != 0)
            return $"Stack '{l.Name}' has {b.Heads} query heads and {b.KvHeads} key/value heads; KvHeads must divide heads (grouped-query attention).";
        // rotate_half pairs feature i with i + d/2 of each head.
        if (b.Rotary && hidden > 0 && b.Heads > 0 && hidden / b.Heads % 2 != 0)
            return $"Stack '{l.Name}' has heads {hidden / b.Heads} features wide (hidden size {hidden} / {b.Heads} heads); rotary position embeddings " +
                   "turn pairs of features, so the head width must be even.";
        if (!(b.Epsilon >= 0))
            return $"Stack '{l.Name}' has NormEpsilon = {Text(b.Epsilon)}; it must be positive (or 0, read from config.json).";
        if (b.Rotary && !(b.RopeTheta >= 0))
            return $"Stack '{l.Name}' has RopeTheta = {Text(b.RopeTheta)}; it must be positive (or 0, read from config.json).";
        return null;
    }

    /// <summary>
    /// SHARD007 for a language model: one residual width runs from the embedding through the head, so each width that
    /// is set must equal the last one set before it (open ones pass it on), and the head's vocabulary the embedding's.
    /// </summary>
    public static List<ShardProblem> CheckWidths(IReadOnlyList<LayerSpec> layers)
    {
        var problems = new List<ShardProblem>();
        int from = -1; // the last layer whose output width is set
        for (int i = 0; i < layers.Count; i++)
        {
            var cur = layers[i];
            // A position embedding adds rows of its width to the stream: it takes what it produces.
            int takes = cur.Strategy switch
            {
                ParallelStrategy.VocabEmbedding => 0,
                ParallelStrategy.PositionEmbedding => cur.OutFeatures,
                _ => cur.InFeatures,
            };
            if (from >= 0 && takes > 0 && takes != layers[from].OutFeatures)
            {
                var prev = layers[from];
                string source = from == i - 1 ? $"the previous layer '{prev.Name}'" : $"'{prev.Name}', the last layer before it whose width is set,";
                problems.Add(new ShardProblem(ShardProblemIds.FeaturesDoNotChain, i, from,
                    $"Layer '{cur.Name}' takes {takes} input features but {source} produces {prev.OutFeatures}; " +
                    $"make '{cur.Name}' take {prev.OutFeatures} or '{prev.Name}' produce {takes}."));
            }
            if (cur.Strategy != ParallelStrategy.LmHead && cur.OutFeatures > 0) from = i;
        }

        int embedding = IndexOf(layers, ParallelStrategy.VocabEmbedding), head = IndexOf(layers, ParallelStrategy.LmHead);
        if (embedding >= 0 && head >= 0 && layers[embedding].InFeatures > 0 && layers[head].OutFeatures > 0
            && layers[embedding].InFeatures != layers[head].OutFeatures)
        {
            LayerSpec e = layers[embedding], h = layers[head];
            problems.Add(new ShardProblem(ShardProblemIds.FeaturesDoNotChain, head, embedding,
                $"Layer '{h.Name}' produces logits for {h.OutFeatures} tokens but the embedding '{e.Name}' has {e.InFeatures}; " +
                $"make both {e.InFeatures}, or leave Vocab at 0 on both to read config.json's vocab_size."));
        }
        return problems;
    }

    private static int IndexOf(IReadOnlyList<LayerSpec> layers, ParallelStrategy strategy)
    {
        for (int i = 0; i < layers.Count; i++)
            if (layers[i].Strategy == strategy) return i;
        return -1;
    }

    private static string Text(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
