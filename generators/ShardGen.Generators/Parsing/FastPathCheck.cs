using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis.Diagnostics;
using ShardGen.Generators.Models;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// Decides which syntactic readings (<see cref="FastModel"/>) hold. A reading assumes what syntax cannot show:
/// that the names it was written with (<c>Linear</c>, <c>ColumnParallel</c>, <c>Activation</c>, …) bind to
/// ShardGen's types where the class is declared (<see cref="ScopeCheck"/>, once per scope, and no source type or
/// namespace named like them), and that the class has no other declaration. Everything here is plain values,
/// so the decision costs a pass over the candidates per compilation and binds nothing.
/// </summary>
internal static class FastPathCheck
{
    /// <summary>Names that must bind, as types, to <c>ShardGen.{name}</c>.</summary>
    internal static readonly string[] TypeNames =
    {
        KnownNames.ShardedModelAttributeName, KnownNames.ColumnParallelAttributeName, KnownNames.RowParallelAttributeName,
        KnownNames.Summa2DAttributeName, KnownNames.TransformerBlockAttributeName,
        "Linear", "TransformerBlock", "Activation", "NormKind", "WeightLayout",
    };

    /// <summary>
    /// Short attribute names that must bind to nothing: the compiler tries <c>X</c> before <c>XAttribute</c>, so a
    /// type named <c>ColumnParallel</c> in scope would change what <c>[ColumnParallel]</c> means.
    /// (<c>TransformerBlock</c> is ShardGen's own non-attribute class, checked above.)
    /// </summary>
    internal static readonly string[] UnboundNames = { "ShardedModel", "ColumnParallel", "RowParallel", "Summa2D" };

    /// <summary>
    /// The global option that turns the fast path off (<c>build_property.ShardGenSyntacticReader = false</c>):
    /// every model is then parsed with the compiler's help. Tests use it to compare both paths.
    /// </summary>
    public const string DisableOption = "build_property.ShardGenSyntacticReader";

    /// <summary>False when the project sets <see cref="DisableOption"/> to <c>false</c>; on by default.</summary>
    public static bool IsEnabled(AnalyzerConfigOptions globalOptions) =>
        !(globalOptions.TryGetValue(DisableOption, out var value)
          && string.Equals(value?.Trim(), "false", StringComparison.OrdinalIgnoreCase));

    /// <summary>True for a name whose meaning the fast reading takes for granted (a type, attribute or the namespace).</summary>
    public static bool IsShardGenName(string name) =>
        name == KnownNames.Namespace || Array.IndexOf(TypeNames, name) >= 0 || Array.IndexOf(UnboundNames, name) >= 0;

    /// <summary>The distinct scope keys of the fast models, sorted: the input of <see cref="ScopeCheck"/>.</summary>
    public static EquatableArray<string> ScopeKeys(ImmutableArray<ModelCandidate> candidates)
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var candidate in candidates)
            if (candidate.Fast is { } fast) keys.Add(fast.ScopeKey);
        return keys.ToEquatableArray();
    }

    public static FastPathVerdict Run(ImmutableArray<ModelCandidate> candidates, SourceFacts facts, EquatableArray<string> verifiedScopes, bool enabled)
    {
        if (!enabled) return FastPathVerdict.None;
        // A global alias can rename anything; a global using static or a source type named like ShardGen's
        // defeats the per-scope check. Then every model takes the semantic parser.
        if (facts.GlobalAlias || facts.GlobalStatic || facts.DeclaresShardGenName)
            return new FastPathVerdict(EquatableArray<string>.Empty, GlobalAliases: facts.GlobalAlias);

        var verified = new List<string>();
        foreach (var candidate in candidates)
        {
            if (candidate.Fast is not { } fast) continue;
            if (verifiedScopes.SortedContains(fast.ScopeKey) && !facts.IsDeclaredTwice(fast.MetadataName))
                verified.Add(fast.MetadataName);
        }
        verified.Sort(StringComparer.Ordinal);
        return new FastPathVerdict(verified.ToEquatableArray(), GlobalAliases: false);
    }
}
