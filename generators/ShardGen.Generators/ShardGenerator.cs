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
/// <c>Create</c> and a straight-line <c>Forward</c> (linear layers and transformer blocks). This class only wires
/// the pipeline. Plain models are read from syntax (<see cref="SyntacticModelReader"/>), once per file change,
/// after <see cref="SyntacticCheck"/> has confirmed what their names mean; all others go through the semantic
/// <see cref="ModelParser"/>. Both end in <see cref="ModelAssembler"/> and give identical results (the tests
/// run every input both ways). <see cref="ModelEmitter"/> writes the source. Layer attributes outside a model (SHARD004)
/// are reported by <see cref="OrphanLayerAnalyzer"/>, not here: a stage per layer attribute would re-bind every
/// one of them on every run. The exception is a partial layer property outside a model (SHARD020,
/// <see cref="OrphanLayerCheck"/>): the compiler's CS9248 error stops analyzers, not generators.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ShardGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Classes with attributes. The syntax provider re-runs its transform on every compilation, so the transform
        // only passes the node on; the Select after it compares nodes by identity and re-reads changed files only.
        var candidates = context.SyntaxProvider
            .CreateSyntaxProvider(
                static (node, _) => node is ClassDeclarationSyntax { AttributeLists.Count: > 0 } or RecordDeclarationSyntax { AttributeLists.Count: > 0 },
                static (ctx, _) => (TypeDeclarationSyntax)ctx.Node)
            .WithTrackingName(TrackingNames.ClassSyntax)
            .Select(static (node, ct) => SyntacticModelReader.Read(node, ct))
            .Where(static c => c is not null)
            .Select(static (c, _) => c!)
            .WithTrackingName(TrackingNames.Candidates);

        // What each file declares that could change how names bind elsewhere, merged: equal across most edits.
        var sourceFacts = context.SyntaxProvider
            .CreateSyntaxProvider(static (node, _) => node is CompilationUnitSyntax, static (ctx, _) => (CompilationUnitSyntax)ctx.Node)
            .WithTrackingName(TrackingNames.FileSyntax)
            .Select(static (unit, _) => SourceFactsReader.Read(unit))
            .Collect()
            .Select(static (files, _) => SourceFacts.Merge(files))
            .WithTrackingName(TrackingNames.SourceFacts);

        // Do ShardGen's names bind to ShardGen's types in each scope? Bound in a probe compilation that depends on
        // references, options and scopes only, so this stays cached while models are edited.
        var compilationInputs = context.CompilationProvider
            .Select(static (compilation, _) => new CompilationInputs(compilation))
            .WithTrackingName(TrackingNames.CompilationInputs);
        var allCandidates = candidates.Collect();
        var verifiedScopes = allCandidates
            .Select(static (all, _) => SyntacticCheck.ScopeKeys(all))
            .Combine(sourceFacts.Select(static (facts, _) => facts.GlobalUsings))
            .Combine(compilationInputs)
            .Select(static (input, ct) => ScopeCheck.Run(input.Left.Left, input.Left.Right, input.Right, ct))
            .WithTrackingName(TrackingNames.ScopeCheck);

        var syntacticEnabled = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => SyntacticCheck.IsEnabled(options.GlobalOptions));

        var verdict = allCandidates
            .Combine(sourceFacts)
            .Combine(verifiedScopes)
            .Combine(syntacticEnabled)
            .Select(static (input, _) => SyntacticCheck.Run(input.Left.Left.Left, input.Left.Left.Right, input.Left.Right, input.Right))
            .WithTrackingName(TrackingNames.SyntacticCheck);

        var judged = candidates.Combine(verdict);

        // Models read from syntax where the check holds: unchanged files stay cached across compilations.
        var syntacticParsed = judged
            .Where(static pair => pair.Right.Holds(pair.Left.Syntactic))
            .Select(static (pair, _) => pair.Left.Syntactic!.Result)
            .WithTrackingName(TrackingNames.SyntacticParseModel);

        // Everything else is parsed with the compiler's help, as ForAttributeWithMetadataName would.
        var parsed = judged
            .Where(static pair => NeedsSemanticParse(pair.Left, pair.Right))
            .Select(static (pair, _) => (pair.Left.FilePath, pair.Left.Span))
            .Combine(context.CompilationProvider)
            .Select(static (input, ct) => ModelParser.ParseAt(input.Left.FilePath, input.Left.Span, input.Right, ct))
            .WithTrackingName(TrackingNames.ParseModel);

        RegisterOutputs(context, syntacticParsed);
        RegisterOutputs(context, parsed);

        // Partial layer properties in classes without [ShardedModel]: the compiler stops at CS9248 before any
        // analyzer runs, so the generator says what is missing (SHARD020). Only the few candidates are bound.
        var orphans = context.SyntaxProvider
            .CreateSyntaxProvider(static (node, _) => node is BasePropertyDeclarationSyntax { AttributeLists.Count: > 0 }, static (ctx, _) => ctx.Node)
            .Select(static (node, ct) => OrphanLayerCheck.Read(node, ct))
            .Where(static c => c is not null)
            .Select(static (c, _) => c!.Value)
            .WithTrackingName(TrackingNames.OrphanCandidates);
        RegisterDiagnostics(context, orphans
            .Combine(context.CompilationProvider)
            .Select(static (input, ct) => OrphanLayerCheck.Check(input.Left.FilePath, input.Left.Span, input.Right, ct))
            .WithTrackingName(TrackingNames.OrphanDiagnostics));
    }

    private static bool NeedsSemanticParse(ModelCandidate candidate, SyntacticVerdict verdict) => candidate.Kind switch
    {
        CandidateKind.Model => !verdict.Holds(candidate.Syntactic),
        CandidateKind.MaybeAliased => true,
        _ => verdict.GlobalAliases,
    };

    /// <summary>Emits each model and reports each model's diagnostics; the same for both readers.</summary>
    private static void RegisterOutputs(IncrementalGeneratorInitializationContext context, IncrementalValuesProvider<ModelParseResult> parsed)
    {
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
