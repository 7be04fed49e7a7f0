using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.CodeAnalysis;
using ShardGen.Generators.Diagnostics;
using ShardGen.Generators.Models;
using ShardGen.Planning;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// The rules of a language model's shape that only the attributes can break, so only the generator checks them
/// (the sizes are <see cref="LanguageModelRules"/>', shared with the load): the layers in the order tokens flow
/// through them, one of each, an embedding and a head, no layer whose Forward takes activations instead of token ids
/// (SHARD024–026), and RopeTheta without rotary embeddings (SHARD027, a warning). Both readers run it from
/// <see cref="ModelAssembler"/>.
/// </summary>
internal static class LanguageModelCheck
{
    /// <summary>The kinds in the order a language model runs them.</summary>
    private static readonly ParallelStrategy[] Order =
    {
        ParallelStrategy.VocabEmbedding, ParallelStrategy.PositionEmbedding, ParallelStrategy.TransformerStack,
        ParallelStrategy.FinalNorm, ParallelStrategy.LmHead,
    };

    private const string OrderText =
        "[VocabParallelEmbedding], [PositionEmbedding] (learned positions, GPT-2), [TransformerStack], [FinalNorm], [LmHead]";

    /// <summary>
    /// Adds the diagnostics of <paramref name="layers"/> to <paramref name="report"/>; true when one is an error of the
    /// model's structure (then the size rules would only add noise, and nothing is generated).
    /// </summary>
    public static bool Run(string model, IReadOnlyList<LayerModel> layers, Func<int, LocationInfo?> attributeLocation,
        Action<DiagnosticInfo> report)
    {
        int first = -1;
        for (int i = 0; i < layers.Count && first < 0; i++)
            if (LanguageModelRules.IsLanguageModelKind(layers[i].Spec.Strategy)) first = i;
        if (first < 0) return false; // not a language model

        bool broken = false;
        void Error(DiagnosticDescriptor descriptor, int layer, int other, params string[] args)
        {
            var additional = other >= 0 && attributeLocation(other) is { } at
                ? new EquatableArray<LocationInfo>(new[] { at })
                : EquatableArray<LocationInfo>.Empty;
            report(new DiagnosticInfo(descriptor.Id, attributeLocation(layer), new EquatableArray<string>(args), additional));
            broken |= descriptor.DefaultSeverity == DiagnosticSeverity.Error;
        }

        // SHARD026: layers of the float[,] models.
        for (int i = 0; i < layers.Count; i++)
        {
            var spec = layers[i].Spec;
            if (!LanguageModelRules.IsLanguageModelKind(spec.Strategy))
                Error(DiagnosticDescriptors.ActivationLayerInLanguageModel, i, -1, spec.Name, KnownNames.ShortName(spec.Strategy), model);
        }

        // SHARD024: one of each kind, in order. seen[k]: the layer of kind k so far; latest: the one of highest rank so far.
        var seen = new int[Order.Length];
        for (int k = 0; k < seen.Length; k++) seen[k] = -1;
        int latest = -1;
        for (int i = 0; i < layers.Count; i++)
        {
            var spec = layers[i].Spec;
            int rank = Array.IndexOf(Order, spec.Strategy);
            if (rank < 0) continue;
            string attribute = KnownNames.ShortName(spec.Strategy);
            if (seen[rank] >= 0)
            {
                Error(DiagnosticDescriptors.LanguageModelOrder, i, seen[rank], Message(spec.Name, attribute,
                    $"is a second [{attribute}] after '{layers[seen[rank]].Spec.Name}'"));
                continue;
            }
            seen[rank] = i;
            if (latest >= 0 && Array.IndexOf(Order, layers[latest].Spec.Strategy) > rank)
            {
                var after = layers[latest].Spec;
                Error(DiagnosticDescriptors.LanguageModelOrder, i, latest, Message(spec.Name, attribute,
                    $"comes after '{after.Name}' ([{KnownNames.ShortName(after.Strategy)}])"));
            }
            else
            {
                latest = i;
            }
        }

        // SHARD025: token ids in, logits out.
        int embedding = seen[0], head = seen[Order.Length - 1];
        if (embedding < 0)
        {
            var spec = layers[first].Spec;
            Error(DiagnosticDescriptors.IncompleteLanguageModel, first, -1,
                $"Layer '{spec.Name}' ([{KnownNames.ShortName(spec.Strategy)}]) belongs to a language model, which starts from token ids, " +
                $"but '{model}' has no token embedding; add '[VocabParallelEmbedding] public partial Embedding Embed {{ get; }}' as its first layer.");
        }
        else if (head < 0)
        {
            Error(DiagnosticDescriptors.IncompleteLanguageModel, embedding, -1,
                $"The language model '{model}' has the token embedding '{layers[embedding].Spec.Name}' but no LM head to turn hidden states into logits; " +
                "add '[LmHead] public partial Linear Head { get; }' as its last layer.");
        }

        // SHARD027: a RopeTheta nothing uses.
        int stack = seen[Array.IndexOf(Order, ParallelStrategy.TransformerStack)];
        if (stack >= 0 && layers[stack].Spec.Block is { Rotary: false, RopeTheta: not 0 } block)
            Error(DiagnosticDescriptors.RopeThetaWithoutRotary, stack, -1, layers[stack].Spec.Name,
                block.RopeTheta.ToString("R", CultureInfo.InvariantCulture));
        return broken;
    }

    private static string Message(string layer, string attribute, string problem) =>
        $"Layer '{layer}' ([{attribute}]) {problem}; a language model has one layer of each kind, in this order: {OrderText}.";
}
