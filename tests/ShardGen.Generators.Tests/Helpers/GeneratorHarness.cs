extern alias gen;

using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using OrphanLayerAnalyzer = gen::ShardGen.Generators.Diagnostics.OrphanLayerAnalyzer;
using ShardGenerator = gen::ShardGen.Generators.ShardGenerator;
using SyntacticCheck = gen::ShardGen.Generators.Parsing.SyntacticCheck;

namespace ShardGen.Generators.Tests.Helpers;

/// <summary>
/// Builds compilations against the runtime, runs the generator and compiles what it wrote, and runs the
/// assembly's analyzers (SHARD004) on the result, as the compiler does.
/// </summary>
public static class GeneratorHarness
{
    /// <summary>Preview C# (partial properties need 13+), documentation comments checked (CS1570 etc.).</summary>
    public static readonly CSharpParseOptions ParseOptions =
        new(LanguageVersion.Preview, DocumentationMode.Diagnose);

    private static readonly Lazy<MetadataReference[]> LazyReferences = new(() =>
    {
        // The .NET reference set from the test host's trusted platform assemblies (framework folder only),
        // plus the ShardGen runtime the generated code calls.
        string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var tpa = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator);
        return tpa
            .Where(p => p.Length > 0 && string.Equals(Path.GetDirectoryName(p), frameworkDir, StringComparison.Ordinal))
            .Append(typeof(ShardGen.DeviceMesh).Assembly.Location)
            .Distinct()
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray();
    });

    public static IReadOnlyList<MetadataReference> References => LazyReferences.Value;

    public static CSharpCompilation CreateCompilation(params (string Path, string Source)[] sources) =>
        CSharpCompilation.Create("Tests",
            sources.Select(s => CSharpSyntaxTree.ParseText(s.Source, ParseOptions, s.Path, Encoding.UTF8)),
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>
    /// A driver as the compiler makes one. <paramref name="syntactic"/> false sets the global option that turns the
    /// syntactic reader off, so every model goes through the semantic parser.
    /// </summary>
    public static GeneratorDriver CreateDriver(bool trackSteps = false, bool syntactic = true) =>
        CSharpGeneratorDriver.Create(
            new[] { new ShardGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            optionsProvider: syntactic ? null : TestAnalyzerOptions.With(SyntacticCheck.DisableOption, "false"),
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>The generator's result from a fresh driver on <paramref name="compilation"/>, without the harness's checks.</summary>
    public static GeneratorRunResult RunFresh(Compilation compilation, bool syntactic = true) =>
        CreateDriver(syntactic: syntactic).RunGenerators(compilation).GetRunResult().Results.Single();

    /// <summary>One file parsed as the tests' compilations parse theirs, to add to or swap into one.</summary>
    public static SyntaxTree ParseFile(string path, string source) => CSharpSyntaxTree.ParseText(source, ParseOptions, path);

    /// <summary><paramref name="compilation"/> with the file <paramref name="path"/> rewritten to <paramref name="source"/>, as an edit would.</summary>
    public static CSharpCompilation EditFile(CSharpCompilation compilation, string path, string source) =>
        compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(t => t.FilePath == path), ParseFile(path, source));

    /// <summary>Runs the generator on one source file "Model.cs"; fails if the generator threw.</summary>
    public static GeneratorOutput Run(string source, string path = "Model.cs") => Run((path, source));

    /// <summary>
    /// Runs the generator as the compiler does, and again with the syntactic reader off: both must produce
    /// the same files and the same diagnostics, so every test input is also a test of the syntactic reader.
    /// </summary>
    public static GeneratorOutput Run(params (string Path, string Source)[] sources)
    {
        var compilation = CreateCompilation(sources);
        var output = RunOnce(compilation, syntactic: true);
        var semanticOnly = RunOnce(compilation, syntactic: false);
        SyntacticAssert.SameResults(semanticOnly.Result, output.Result);
        return output;
    }

    private static GeneratorOutput RunOnce(CSharpCompilation compilation, bool syntactic)
    {
        var driver = CreateDriver(syntactic: syntactic).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var driverDiagnostics);
        var result = driver.GetRunResult();
        Assert.Null(result.Results.Single().Exception);
        Assert.DoesNotContain(driverDiagnostics, d => d.Id is "CS8784" or "CS8785"); // generator failed to initialize / threw
        return new GeneratorOutput(compilation, (CSharpCompilation)output, result.Results.Single());
    }

    /// <summary>
    /// The diagnostics of ShardGen's analyzers on <paramref name="compilation"/>, as the compiler reports them
    /// (<c>#pragma warning disable</c> applies, generated code is skipped); fails if an analyzer threw.
    /// </summary>
    public static ImmutableArray<Diagnostic> RunAnalyzers(Compilation compilation)
    {
        var exceptions = new List<Exception>();
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            onAnalyzerException: (e, _, _) => { lock (exceptions) exceptions.Add(e); },
            concurrentAnalysis: true,
            logAnalyzerExecutionTime: false);
        var diagnostics = compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new OrphanLayerAnalyzer()), options)
            .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        Assert.Empty(exceptions);
        Assert.DoesNotContain(diagnostics, d => d.Id == "AD0001"); // an analyzer threw
        return diagnostics;
    }
}

/// <summary>What one generator run produced.</summary>
public sealed record GeneratorOutput(CSharpCompilation Input, CSharpCompilation Output, GeneratorRunResult Result)
{
    private ImmutableArray<Diagnostic>? _analyzerDiagnostics;

    /// <summary>The generator's own diagnostics (everything but SHARD004).</summary>
    public ImmutableArray<Diagnostic> Diagnostics => Result.Diagnostics;

    /// <summary>The analyzers' diagnostics (SHARD004) on the compilation with the generated code.</summary>
    public ImmutableArray<Diagnostic> AnalyzerDiagnostics => _analyzerDiagnostics ??= GeneratorHarness.RunAnalyzers(Output);

    /// <summary>Everything ShardGen reports for the source: the generator's diagnostics and the analyzers'.</summary>
    public ImmutableArray<Diagnostic> AllDiagnostics => Diagnostics.AddRange(AnalyzerDiagnostics);

    public ImmutableArray<GeneratedSourceResult> Sources => Result.GeneratedSources;

    /// <summary>The single generated file's text; fails unless there is exactly one.</summary>
    public string SingleSource => Assert.Single(Sources).SourceText.ToString();

    /// <summary>
    /// Diagnostics of the compilation with the generated code, warnings and errors, except CS1591 (missing
    /// XML doc) on the test's own hand-written types: the generated members must all be documented.
    /// </summary>
    public IReadOnlyList<Diagnostic> CompilationProblems()
    {
        var userTrees = Input.SyntaxTrees.ToHashSet();
        return Output.GetDiagnostics()
            .Where(d => d.Severity >= DiagnosticSeverity.Warning)
            .Where(d => !(d.Id == "CS1591" && d.Location.SourceTree is { } t && userTrees.Contains(t)))
            .ToList();
    }

    /// <summary>Fails, listing each problem with its line, unless the generated code compiles with no warning or error.</summary>
    public void AssertCompilesCleanly()
    {
        var problems = CompilationProblems();
        if (problems.Count == 0) return;
        var sb = new StringBuilder("The generated code does not compile cleanly:\n");
        foreach (var d in problems)
        {
            var span = d.Location.GetLineSpan();
            string line = d.Location.SourceTree?.GetText().Lines[span.StartLinePosition.Line].ToString().Trim() ?? "";
            sb.AppendLine($"  {d.Id} {span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): {d.GetMessage()}");
            sb.AppendLine($"      {line}");
        }
        Assert.Fail(sb.ToString());
    }

    /// <summary>
    /// All of ShardGen's diagnostics (generator and analyzers) as stored in .verified.txt: one per line, ID,
    /// severity, file(line,col), message.
    /// </summary>
    public string DiagnosticsText() => FormatDiagnostics(AllDiagnostics);

    public static string FormatDiagnostics(IEnumerable<Diagnostic> diagnostics)
    {
        var sb = new StringBuilder();
        foreach (var d in diagnostics.OrderBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id, StringComparer.Ordinal))
        {
            sb.Append($"{d.Id} {d.Severity} {Where(d.Location)}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}\n");
            foreach (var extra in d.AdditionalLocations) sb.Append($"    also at {Where(extra)}\n");
        }
        return sb.ToString();
    }

    /// <summary>Path and span, exact to the character, for comparing diagnostics.</summary>
    public static string WhereExactly(Location location) =>
        location == Location.None ? "(no location)" : $"{location.GetLineSpan().Path}[{location.SourceSpan.Start}..{location.SourceSpan.End})";

    public static string Where(Location location)
    {
        if (location == Location.None) return "(no location)";
        var span = location.GetLineSpan();
        return $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1})";
    }
}
