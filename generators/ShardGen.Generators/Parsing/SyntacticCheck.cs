using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis.Diagnostics;
using ShardGen.Generators.Models;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// Decides which syntactic readings (<see cref="SyntacticModel"/>) hold. A reading assumes what syntax cannot show:
/// that the names it was written with (<c>Linear</c>, <c>ColumnParallel</c>, <c>Activation</c>, …) bind to
/// ShardGen's types where the class is declared (<see cref="ScopeCheck"/>, once per scope, and no source type or
/// namespace named like them), and that the class has no other declaration. Everything here is plain values,
/// so the decision costs a pass over the candidates per compilation and binds nothing.
/// </summary>
internal static class SyntacticCheck
{
    /// <summary>Names that must bind, as types, to <c>ShardGen.{name}</c> (from <see cref="AttributeTable"/>).</summary>
    internal static string[] TypeNames => AttributeTable.TypeNames;

    /// <summary>Short attribute names that must bind to nothing (from <see cref="AttributeTable"/>).</summary>
    internal static string[] UnboundNames => AttributeTable.UnboundNames;

    /// <summary>
    /// The global option that turns the syntactic reader off (<c>build_property.ShardGenSyntacticReader = false</c>):
    /// every model is then parsed with the compiler's help. Tests use it to compare both paths.
    /// </summary>
    public const string DisableOption = "build_property.ShardGenSyntacticReader";

    /// <summary>False when the project sets <see cref="DisableOption"/> to <c>false</c>; on by default.</summary>
    public static bool IsEnabled(AnalyzerConfigOptions globalOptions) =>
        !(globalOptions.TryGetValue(DisableOption, out var value)
          && string.Equals(value?.Trim(), "false", StringComparison.OrdinalIgnoreCase));

    /// <summary>True for a name whose meaning the syntactic reading takes for granted (a type, attribute or the namespace).</summary>
    public static bool IsShardGenName(string name) =>
        name == KnownNames.Namespace || Array.IndexOf(TypeNames, name) >= 0 || Array.IndexOf(UnboundNames, name) >= 0;

    /// <summary>The distinct scope keys of the models read from syntax, sorted: the input of <see cref="ScopeCheck"/>.</summary>
    public static EquatableArray<string> ScopeKeys(ImmutableArray<ModelCandidate> candidates)
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var candidate in candidates)
            if (candidate.Syntactic is { } read) keys.Add(read.ScopeKey);
        return keys.ToEquatableArray();
    }

    public static SyntacticVerdict Run(ImmutableArray<ModelCandidate> candidates, SourceFacts facts, EquatableArray<string> verifiedScopes, bool enabled)
    {
        if (!enabled) return SyntacticVerdict.None;
        // A global alias can rename anything; a global using static or a source type named like ShardGen's
        // defeats the per-scope check. Then every model takes the semantic parser.
        if (facts.GlobalAlias || facts.GlobalStatic || facts.DeclaresShardGenName)
            return new SyntacticVerdict(EquatableArray<string>.Empty, GlobalAliases: facts.GlobalAlias);

        var verified = new List<string>();
        foreach (var candidate in candidates)
        {
            if (candidate.Syntactic is not { } read) continue;
            if (verifiedScopes.SortedContains(read.ScopeKey) && !facts.IsDeclaredTwice(read.MetadataName))
                verified.Add(read.MetadataName);
        }
        verified.Sort(StringComparer.Ordinal);
        return new SyntacticVerdict(verified.ToEquatableArray(), GlobalAliases: false);
    }
}
