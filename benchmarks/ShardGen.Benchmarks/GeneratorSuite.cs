extern alias gen;
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `generator`: the source generator on a compilation of 200 models with 2,000 annotated layers: a full
/// run (fresh driver) and an incremental run after an edit to one model, with the share of tracked steps cached.
/// </summary>
internal static class GeneratorSuite
{
    private const int Models = 200, LayersPerModel = 10;

    public static void Run(Options o)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = Enumerable.Range(0, Models).Select(i => CSharpSyntaxTree.ParseText(ModelSource(i, edited: false), parse, $"Model{i}.cs")).ToArray();
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Select(p => MetadataReference.CreateFromFile(p))
            .Append(MetadataReference.CreateFromFile(typeof(DeviceMesh).Assembly.Location)).ToArray();
        var compilation = CSharpCompilation.Create("Bench", trees, refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        int edit = Models / 2;
        var editedTree = CSharpSyntaxTree.ParseText(ModelSource(edit, edited: true), parse, $"Model{edit}.cs");
        var edited = compilation.ReplaceSyntaxTree(trees[edit], editedTree);

        // Timed runs are configured like the compiler's (no step tracking); one tracked run counts the cache share.
        // syntactic: false sets the MSBuild property that sends every model through the semantic parser.
        GeneratorDriver NewDriver(bool track, bool syntactic = true) => CSharpGeneratorDriver.Create(new[] { new gen::ShardGen.Generators.ShardGenerator().AsSourceGenerator() },
            parseOptions: parse, optionsProvider: syntactic ? null : SemanticOnly.Instance,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

        // Warm-up until tiered JIT has optimised the generator and Roslyn's pipeline, as in the long-lived compiler
        // server (VBCSCompiler) and the IDE, where generators really run; first-run figures mostly time the JIT.
        for (int i = 0; i < 8; i++)
            foreach (bool syntactic in new[] { true, false })
                NewDriver(false, syntactic).RunGenerators(compilation.Clone()).RunGenerators(edited.Clone());

        // Both readers side by side, interleaved round by round, so their ratio is taken under the same load.
        var full = new List<double>();
        var incremental = new List<double>();
        var fullGen = new List<double>();
        var incrementalGen = new List<double>();
        var semFullGen = new List<double>();
        var semIncrementalGen = new List<double>();
        for (int r = 0; r < 3 * o.Repetitions; r++)
        {
            foreach (bool syntactic in new[] { true, false })
            {
                // A fresh compilation object each time so no semantic model is reused from the previous round.
                var c0 = compilation.Clone();
                var c1 = c0.ReplaceSyntaxTree(trees[edit], editedTree);
                var clock = Stopwatch.StartNew();
                var driver = NewDriver(false, syntactic).RunGenerators(c0);
                double wallFull = clock.Elapsed.TotalMilliseconds, genFull = driver.GetTimingInfo().ElapsedTime.TotalMilliseconds;
                clock.Restart();
                driver = driver.RunGenerators(c1);
                double wallEdit = clock.Elapsed.TotalMilliseconds, genEdit = driver.GetTimingInfo().ElapsedTime.TotalMilliseconds;
                if (syntactic)
                {
                    full.Add(wallFull);
                    fullGen.Add(genFull);
                    incremental.Add(wallEdit);
                    incrementalGen.Add(genEdit);
                }
                else
                {
                    semFullGen.Add(genFull);
                    semIncrementalGen.Add(genEdit);
                }
            }
        }
        var tracked = NewDriver(true).RunGenerators(compilation.Clone());
        var lastFull = tracked.GetRunResult();
        var lastEdit = tracked.RunGenerators(edited).GetRunResult();

        double tFull = Measure.Median(full), tEdit = Measure.Median(incremental);
        double gFull = Measure.Median(fullGen), gEdit = Measure.Median(incrementalGen);
        double sFull = Measure.Median(semFullGen), sEdit = Measure.Median(semIncrementalGen);
        var (cached, total, regenerated) = CacheShare(lastEdit);
        int files = lastFull.Results[0].GeneratedSources.Length;
        var diagnostics = lastFull.Diagnostics.Length + lastFull.Results[0].Diagnostics.Length;

        var table = new Table($"generator: {Models} models, {Models * LayersPerModel:N0} annotated layers (median of {3 * o.Repetitions}, after 8 warm-up rounds)",
            "run", "ms (wall)", "ms (Roslyn's generator timing)", "ratio (timing)", "target", "tracked step outputs cached", "files regenerated");
        table.Add("full (fresh driver)", tFull, gFull, "1.00", "< 300 ms", "-", files);
        table.Add("after editing one model", tEdit, gEdit, $"{gEdit / gFull:F3} of full", "< 0.10 of full",
            $"{cached:N0} / {total:N0} = {100.0 * cached / total:F1}%", regenerated);
        table.Add("full, semantic parser only", "-", sFull, $"{sFull / gFull:F2}", "-", "-", "-");
        table.Add("one edit, semantic parser only", "-", sEdit, $"{sEdit / sFull:F3} of its full", "< 0.10 of full", "-", "-");
        table.Notes.Add($"{files} files generated, {diagnostics} diagnostics. Cached = outputs of the generator's tracked steps reported " +
                        "Cached or Unchanged in the edit run; the edit changes one layer's activation in one model. " +
                        "Timing = GeneratorDriver.GetTimingInfo(): the time Roslyn attributes to the generator, as the compiler's /reportAnalyzer does. " +
                        $"Semantic parser only = {SemanticOnly.Property}=false (every model bound by the compiler), timed in the same rounds.");
        table.Print();
    }

    /// <summary>The global option a project sets to turn the syntactic reader off, as MSBuild passes it.</summary>
    private sealed class SemanticOnly : AnalyzerConfigOptionsProvider
    {
        public const string Property = "build_property.ShardGenSyntacticReader";
        public static readonly SemanticOnly Instance = new();
        private static readonly Values Global = new(Property, "false"), None = new("", "");

        public override AnalyzerConfigOptions GlobalOptions => Global;
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => None;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => None;

        private sealed class Values(string key, string value) : AnalyzerConfigOptions
        {
            public override bool TryGetValue(string k, [NotNullWhen(true)] out string? v)
            {
                v = k == key ? value : null;
                return v is not null;
            }
        }
    }

    private static (int Cached, int Total, int Regenerated) CacheShare(GeneratorDriverRunResult result)
    {
        int cached = 0, total = 0;
        var run = result.Results[0];
        foreach (var steps in run.TrackedSteps.Values)
            foreach (var step in steps)
                foreach (var (_, reason) in step.Outputs)
                {
                    total++;
                    if (reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged) cached++;
                }
        int regenerated = run.TrackedOutputSteps.Values.SelectMany(s => s).SelectMany(s => s.Outputs)
            .Count(x => x.Reason is IncrementalStepRunReason.New or IncrementalStepRunReason.Modified);
        return (cached, total, regenerated);
    }

    /// <summary>Model i: ten layers alternating column- and row-parallel between 256 and 1024 features.</summary>
    private static string ModelSource(int i, bool edited)
    {
        var sb = new StringBuilder();
        sb.AppendLine("using ShardGen;");
        sb.AppendLine($"namespace Bench.Group{i % 10};");
        sb.AppendLine("[ShardedModel]");
        sb.AppendLine($"public partial class Model{i}");
        sb.AppendLine("{");
        for (int l = 0; l < LayersPerModel; l++)
        {
            bool up = l % 2 == 0;
            string act = l == 0 ? (edited ? "Activation.Relu" : "Activation.Gelu") : up ? "Activation.Gelu" : "Activation.None";
            sb.AppendLine(up
                ? $"    [ColumnParallel(256, 1024, Activation = {act})]"
                : $"    [RowParallel(1024, 256, Activation = {act})]");
            sb.AppendLine($"    public partial Linear L{l} {{ get; }}");
        }
        sb.AppendLine("}");
        return sb.ToString();
    }
}
