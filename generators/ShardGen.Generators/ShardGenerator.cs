using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using ShardGen.Generators.Diagnostics;
using ShardGen.Generators.Emitting;
using ShardGen.Generators.Models;
using ShardGen.Generators.Parsing;
using System.Text;

namespace ShardGen.Generators;

/// <summary>
/// Generates the sharded implementation of every <c>[ShardedModel]</c> partial class: its layer specs, weights,
/// <c>Create</c> and a straight-line <c>Forward</c> (linear layers and transformer blocks). Parsing and emitting live in <see cref="ModelParser"/> and
/// <see cref="ModelEmitter"/>; this class only wires the pipeline. Layer attributes outside a model (SHARD004)
/// are reported by <see cref="OrphanLayerAnalyzer"/>, not here: a stage per layer attribute would re-bind every
/// one of them on every run.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ShardGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // [ShardedModel] classes → (model, diagnostics). The model is emitted, the diagnostics reported apart.
        var parsed = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownNames.ShardedModelAttribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                ModelParser.Parse)
            .WithTrackingName(TrackingNames.ParseModel);

        var models = parsed
            .Select(static (result, _) => result.Model)
            .Where(static model => model is not null)
            .WithTrackingName(TrackingNames.Models);

        context.RegisterSourceOutput(models, static (spc, model) =>
            spc.AddSource(model!.Hierarchy.HintName, SourceText.From(ModelEmitter.Emit(model), Encoding.UTF8)));

        RegisterDiagnostics(context, parsed
            .Select(static (result, _) => result.Diagnostics)
            .WithTrackingName(TrackingNames.ModelDiagnostics));
    }

    /// <summary>
    /// Reports diagnostics in their own output. They are cached as values; only when there are some is the
    /// compilation consulted, to turn each stored location back into a real source location.
    /// </summary>
    private static void RegisterDiagnostics(IncrementalGeneratorInitializationContext context,
        IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> diagnostics) =>
        context.RegisterSourceOutput(
            diagnostics.Where(static d => d.Count > 0).Combine(context.CompilationProvider),
            static (spc, pair) =>
            {
                foreach (var info in pair.Left)
                {
                    if (DiagnosticDescriptors.Find(info.Id) is not { } descriptor) continue;
                    var additional = new Location[info.AdditionalLocations.Count];
                    for (int i = 0; i < additional.Length; i++)
                        additional[i] = info.AdditionalLocations[i].ToLocation(pair.Right);
                    spc.ReportDiagnostic(Diagnostic.Create(descriptor, info.Location?.ToLocation(pair.Right) ?? Location.None,
                        additional, info.MessageArgs.ToObjectArray()));
                }
            });
}
