using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using ShardGen.Generators.Diagnostics;
using ShardGen.Generators.Models;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// SHARD020: a partial layer property in a class without <c>[ShardedModel]</c>. Nothing implements it, so the
/// compiler fails with CS9248, an error, and the analyzers (SHARD004) never run; the generator's diagnostics are
/// reported regardless, so this is where the user learns what to add. Found from syntax first (a property with a
/// layer attribute in a type declaration without <c>[ShardedModel]</c>), so only those few properties are bound,
/// once per compilation.
/// </summary>
internal static class OrphanLayerCheck
{
    /// <summary>Where a possible orphan layer property is declared, or null for one that is surely not (or is in a model candidate).</summary>
    public static (string FilePath, TextSpan Span)? Read(SyntaxNode node, CancellationToken ct)
    {
        if (node is not BasePropertyDeclarationSyntax { Parent: TypeDeclarationSyntax type } property) return null;
        ct.ThrowIfCancellationRequested();
        foreach (var list in type.AttributeLists)
            foreach (var attribute in list.Attributes)
                if (AttributeTable.IsModelName(SyntacticModelReader.RightmostName(attribute.Name))) return null;

        bool aliased = SyntacticModelReader.HasAliasInScope(type); // an alias could name a layer attribute anything
        foreach (var list in property.AttributeLists)
            foreach (var attribute in list.Attributes)
                if (aliased || AttributeTable.LayerNamed(SyntacticModelReader.RightmostName(attribute.Name)) is not null)
                    return (property.SyntaxTree.FilePath, property.Span);
        return null;
    }

    /// <summary>SHARD020 for the candidate property when it is a partial layer without an implementation outside a model.</summary>
    public static EquatableArray<DiagnosticInfo> Check(string path, TextSpan span, Compilation compilation, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        foreach (var tree in compilation.SyntaxTrees)
        {
            if (tree.FilePath != path || span.End > tree.Length) continue;
            if (tree.GetRoot(ct).FindNode(span, getInnermostNodeForTie: true) is not BasePropertyDeclarationSyntax syntax || syntax.Span != span
                || compilation.GetSemanticModel(tree).GetDeclaredSymbol(syntax, ct) is not IPropertySymbol property) continue;
            if (property is not { IsPartialDefinition: true, PartialImplementationPart: null }
                || property.ContainingType is not { } type || KnownNames.ShardedModelAttributeOf(type) is not null) break;
            foreach (var attribute in property.GetAttributes())
            {
                if (KnownNames.StrategyOf(attribute) is not { } strategy) continue;
                var location = syntax is IndexerDeclarationSyntax indexer ? LocationInfo.From(indexer.ThisKeyword)
                    : LocationInfo.From(((PropertyDeclarationSyntax)syntax).Identifier);
                return new EquatableArray<DiagnosticInfo>(new[] { DiagnosticInfo.Create(DiagnosticDescriptors.LayerWithoutModel, location,
                    property.IsIndexer ? "this[]" : property.Name, ModelParser.DisplayName(type), KnownNames.ShortName(strategy)) });
            }
            break;
        }
        return EquatableArray<DiagnosticInfo>.Empty;
    }
}
