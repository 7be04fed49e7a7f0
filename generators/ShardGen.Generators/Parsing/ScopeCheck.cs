using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ShardGen.Generators.Models;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// The references, options and parse options of a compilation: everything besides its own sources that decides
/// how a name binds. References compare by identity (the compiler keeps the same objects between edits).
/// </summary>
internal sealed class CompilationInputs : IEquatable<CompilationInputs>
{
    public CompilationInputs(Compilation compilation)
    {
        _source = new WeakReference<Compilation>(compilation);
        Options = compilation.Options;
        foreach (var tree in compilation.SyntaxTrees)
        {
            ParseOptions = tree.Options; // the project's; every tree is parsed with them
            break;
        }
        References = compilation.References.ToImmutableArray();
    }

    // The compilation these came from, to derive the probe from (sharing its bound references). Weak, and left out
    // of equality: a cached value must not keep an old compilation alive.
    private readonly WeakReference<Compilation> _source;

    public CompilationOptions Options { get; }
    public ParseOptions? ParseOptions { get; }
    public ImmutableArray<MetadataReference> References { get; }

    public bool Equals(CompilationInputs? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        if (!Options.Equals(other.Options) || !Equals(ParseOptions, other.ParseOptions) || References.Length != other.References.Length)
            return false;
        for (int i = 0; i < References.Length; i++)
            if (!ReferenceEquals(References[i], other.References[i])) return false;
        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as CompilationInputs);

    public override int GetHashCode() => References.Length;

    /// <summary>
    /// A compilation of <paramref name="trees"/> alone with these references and options: derived from the source
    /// compilation while it is alive, which reuses its bound references (a fresh one binds them all again).
    /// </summary>
    public CSharpCompilation CreateProbe(IEnumerable<SyntaxTree> trees, CSharpCompilationOptions options) =>
        _source.TryGetTarget(out var source) && source is CSharpCompilation csharp
            ? csharp.RemoveAllSyntaxTrees().AddSyntaxTrees(trees)
            : CSharpCompilation.Create("ShardGen.ScopeProbe", trees, References, options);
}

/// <summary>
/// Checks, for each distinct scope of the models read from syntax (their usings and namespaces), that ShardGen's names bind to
/// ShardGen's types there. It binds in a small probe compilation: the user's references and options, the global
/// usings, and one file per scope, with no other source (no user type can get in the way, and no model is bound). Together with <see cref="SourceFacts.DeclaresShardGenName"/>
/// (no source type or namespace named like ShardGen's) that is how the real compilation binds them, and the probe
/// depends on nothing an ordinary edit changes, so the pipeline keeps its verdict between edits.
/// </summary>
internal static class ScopeCheck
{
    private const string ProbeClass = "__ShardGenScopeProbe";

    public static EquatableArray<string> Run(EquatableArray<string> scopeKeys, EquatableArray<string> globalUsings,
        CompilationInputs inputs, CancellationToken ct)
    {
        if (scopeKeys.Count == 0 || inputs.Options is not CSharpCompilationOptions options) return EquatableArray<string>.Empty;
        var parseOptions = inputs.ParseOptions as CSharpParseOptions ?? CSharpParseOptions.Default;

        var trees = new List<SyntaxTree>();
        if (globalUsings.Count > 0)
            trees.Add(CSharpSyntaxTree.ParseText(string.Join("\n", globalUsings), parseOptions, "GlobalUsings.cs", cancellationToken: ct));
        var probes = new (SyntaxTree Tree, int Position)[scopeKeys.Count];
        for (int i = 0; i < scopeKeys.Count; i++)
        {
            var (source, position) = ProbeSource(scopeKeys[i]);
            var tree = CSharpSyntaxTree.ParseText(source, parseOptions, $"Scope{i}.cs", cancellationToken: ct);
            probes[i] = (tree, position);
            trees.Add(tree);
        }
        var compilation = inputs.CreateProbe(trees, options);

        // The parser compares layer property types with the compilation's ShardGen.{name} exactly: so must we.
        var expected = new INamedTypeSymbol[SyntacticCheck.TypeNames.Length];
        for (int i = 0; i < expected.Length; i++)
        {
            if (compilation.GetTypeByMetadataName(KnownNames.Namespace + "." + SyntacticCheck.TypeNames[i]) is not { } type)
                return EquatableArray<string>.Empty; // the parser says what is missing
            expected[i] = type;
        }
        var verified = new List<string>();
        for (int i = 0; i < probes.Length; i++)
        {
            ct.ThrowIfCancellationRequested();
            var model = compilation.GetSemanticModel(probes[i].Tree);
            if (NamesBindAsExpected(model, probes[i].Position, expected)) verified.Add(scopeKeys[i]);
        }
        return verified.ToEquatableArray(); // scopeKeys is sorted, so this is too
    }

    /// <summary>A file with the scope's directives and namespaces around an empty class, and where that class starts.</summary>
    private static (string Source, int Position) ProbeSource(string scopeKey)
    {
        var sb = new StringBuilder();
        int open = 0;
        foreach (var line in scopeKey.Split('\n'))
        {
            if (line.Length == 0) continue;
            if (line.StartsWith("namespace ", StringComparison.Ordinal))
            {
                sb.Append(line).Append(" {\n");
                open++;
            }
            else
            {
                sb.Append(line).Append('\n');
            }
        }
        int position = sb.Length;
        sb.Append("class ").Append(ProbeClass).Append(" { }\n");
        sb.Append('}', open);
        return (sb.ToString(), position);
    }

    /// <param name="expected">The compilation's <c>ShardGen.{name}</c> for each of <see cref="SyntacticCheck.TypeNames"/>.</param>
    private static bool NamesBindAsExpected(SemanticModel model, int position, INamedTypeSymbol[] expected)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            string name = SyntacticCheck.TypeNames[i];
            var bound = model.GetSpeculativeSymbolInfo(position, SyntaxFactory.IdentifierName(name), SpeculativeBindingOption.BindAsTypeOrNamespace);
            if (bound.Symbol is not INamedTypeSymbol type || !IsShardGenType(type, name)
                || !SymbolEqualityComparer.Default.Equals(type, expected[i])) return false;
        }
        foreach (var name in SyntacticCheck.UnboundNames)
        {
            var bound = model.GetSpeculativeSymbolInfo(position, SyntaxFactory.IdentifierName(name), SpeculativeBindingOption.BindAsTypeOrNamespace);
            if (bound.Symbol is not null || !bound.CandidateSymbols.IsEmpty) return false;
        }
        return true;
    }

    /// <summary>A top-level, non-generic <c>ShardGen.{name}</c>, as the parser's <see cref="KnownNames"/> checks match them.</summary>
    private static bool IsShardGenType(INamedTypeSymbol type, string name) =>
        type.Arity == 0 && type.MetadataName == name && KnownNames.IsShardGenType(type);
}
