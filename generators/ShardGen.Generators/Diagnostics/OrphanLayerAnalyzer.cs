using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace ShardGen.Generators.Diagnostics;

/// <summary>
/// SHARD004: a layer attribute (<c>[ColumnParallel]</c>, <c>[RowParallel]</c>, <c>[Summa2D]</c>,
/// <c>[TransformerBlock]</c>) on a property of a type without <c>[ShardedModel]</c>, where it does nothing.
/// An analyzer rather than a generator stage: it needs no model and no cache, and it runs once per property
/// on attributes the compiler binds anyway, instead of re-binding every layer attribute on every generator run.
/// Layer attributes are only valid on properties (<c>AttributeUsage</c>); elsewhere the compiler reports CS0592.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class OrphanLayerAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.LayerOutsideModel);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterSymbolAction(AnalyzeProperty, SymbolKind.Property);
    }

    private static void AnalyzeProperty(SymbolAnalysisContext context)
    {
        var property = (IPropertySymbol)context.Symbol;
        // A partial property comes twice, as its definition and its implementation, each with the attributes of
        // both parts: report them with the definition only.
        if (property.PartialDefinitionPart is not null) return;
        // A partial definition nothing implements is the generator's SHARD020, an error (the compiler's CS9248
        // stops analyzers in that build anyway).
        if (property is { IsPartialDefinition: true, PartialImplementationPart: null }) return;
        bool? inModel = null;
        string? owner = null;
        foreach (var attribute in property.GetAttributes())
        {
            if (KnownNames.StrategyOf(attribute) is not { } strategy) continue;
            var containing = property.ContainingType;
            inModel ??= containing is not null && KnownNames.ShardedModelAttributeOf(containing) is not null;
            if (inModel.Value) return;

            owner ??= containing?.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat) ?? "its containing type";
            var location = attribute.ApplicationSyntaxReference is { } reference
                ? Location.Create(reference.SyntaxTree, reference.Span)
                : property.Locations.IsEmpty ? Location.None : property.Locations[0];
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayerOutsideModel, location,
                KnownNames.ShortName(strategy), property.Name, owner));
        }
    }
}
