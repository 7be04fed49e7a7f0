extern alias gen;

using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ShardGen.Generators.Tests.Helpers;
using Descriptors = gen::ShardGen.Generators.Diagnostics.DiagnosticDescriptors;
using OrphanLayerAnalyzer = gen::ShardGen.Generators.Diagnostics.OrphanLayerAnalyzer;

namespace ShardGen.Generators.Tests;

/// <summary>
/// SHARD004 (a layer attribute on a property of a type without [ShardedModel]) comes from
/// <see cref="OrphanLayerAnalyzer"/>, run on the generated compilation as the compiler runs it; the generator
/// itself no longer looks at layer attributes outside models. The snapshot tests in DiagnosticTests cover the
/// message and location of the two main cases.
/// </summary>
public class OrphanLayerAnalyzerTests
{
    private static string Source(string body) => "using ShardGen;\nnamespace Demo;\n\n" + body + "\n";

    /// <summary>The source text each SHARD004 points at, in source order.</summary>
    private static string[] Located(ImmutableArray<Diagnostic> diagnostics) =>
        diagnostics.Where(d => d.Id == "SHARD004")
            .OrderBy(d => d.Location.SourceSpan.Start)
            .Select(d => d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan))
            .ToArray();

    [Fact]
    public void DescriptorIsTheCatalogs()
    {
        var descriptor = Assert.Single(new OrphanLayerAnalyzer().SupportedDiagnostics);
        Assert.Same(Descriptors.LayerOutsideModel, descriptor);
        Assert.Equal(DiagnosticSeverity.Warning, descriptor.DefaultSeverity);
        Assert.Contains(descriptor.Id, Catalog.Ids);
    }

    [Fact]
    public void ReportsEveryLayerAttributeOutsideAModel()
    {
        var output = GeneratorHarness.Run("""
            using ShardGen;
            using CP = ShardGen.ColumnParallelAttribute;
            namespace Demo;

            public class Plain
            {
                [ColumnParallel(4, 4)] public Linear? A { get; }
                [RowParallel(4, 4)] public Linear? B { get; }
                [Summa2D(4, 4)] public Linear? C { get; }
                [TransformerBlock(8, 2)] public TransformerBlock? D { get; }
                [ShardGen.ColumnParallelAttribute(1, 2)] public Linear? Qualified { get; }
                [CP(3, 4)] public Linear? Aliased { get; }
                [ColumnParallel(5, 6), RowParallel(7, 8)] public Linear? Two { get; }
                [ColumnParallel(9, 9)] public Linear this[int i] => null!;
            }
            """);

        Assert.Equal(new[]
        {
            "ColumnParallel(4, 4)", "RowParallel(4, 4)", "Summa2D(4, 4)", "TransformerBlock(8, 2)",
            "ShardGen.ColumnParallelAttribute(1, 2)", "CP(3, 4)", "ColumnParallel(5, 6)", "RowParallel(7, 8)", "ColumnParallel(9, 9)",
        }, Located(output.AnalyzerDiagnostics));
        Assert.All(output.AnalyzerDiagnostics, d => Assert.Equal(DiagnosticSeverity.Warning, d.Severity));
        Assert.Contains(output.AnalyzerDiagnostics, d => d.GetMessage(System.Globalization.CultureInfo.InvariantCulture) ==
            "[ColumnParallel] on 'Aliased' has no effect: 'Demo.Plain' is not marked [ShardedModel]; add [ShardedModel] to 'Demo.Plain' (and make it partial) or remove the attribute");
        // The generator reports nothing and generates nothing for a type without [ShardedModel].
        Assert.Empty(output.Diagnostics);
        Assert.Empty(output.Sources);
    }

    [Fact]
    public void ReportsNestedTypesOfAModelAndPartialPropertiesOnce()
    {
        var output = GeneratorHarness.Run(Source("""
            [ShardedModel]
            public partial class Mlp
            {
                [ColumnParallel(4, 4)]
                public partial Linear Up { get; }

                public class Inner
                {
                    [RowParallel(4, 4)] public Linear? X { get; }
                }
            }

            public partial class Plain
            {
                [Summa2D(4, 4)] public partial Linear Defined { get; }
                public partial Linear Defined => null!;
                public partial Linear Implemented { get; }
                [Summa2D(8, 8)] public partial Linear Implemented => null!;
            }
            """));
        Assert.Equal(new[] { "RowParallel(4, 4)", "Summa2D(4, 4)", "Summa2D(8, 8)" }, Located(output.AnalyzerDiagnostics));
        // Analyzers run concurrently: the order of the diagnostics is not fixed, so find it by its message.
        Assert.Contains(output.AnalyzerDiagnostics, d => d.GetMessage().StartsWith(
            "[RowParallel] on 'X' has no effect: 'Demo.Mlp.Inner' is not marked [ShardedModel]", System.StringComparison.Ordinal));
    }

    [Fact]
    public void NothingForLayersOfAModel()
    {
        // Valid models, a model split over two files (the attribute on one part, layers on both), and models
        // with errors of their own (not partial, a broken attribute argument): SHARD004 is never the issue.
        var output = GeneratorHarness.Run(
            ("A.cs", Source("""
                [ShardedModel]
                public partial class Mlp
                {
                    [ColumnParallel(1024, 4096)] public partial Linear Up { get; }
                    [RowParallel(4096, 1024)] public partial Linear Down { get; }
                }

                [ShardedModel]
                public partial class Gpt
                {
                    [TransformerBlock(64, 4)] public partial TransformerBlock Block0 { get; }
                }

                [ShardedModel(Devices = 4)]
                public partial class Split
                {
                    [Summa2D(8, 8)] public partial Linear First { get; }
                }

                [ShardedModel]
                public class NotPartial
                {
                    [ColumnParallel(4, 4)] public Linear? A { get; }
                }

                [ShardedModel(Devices = "four")]
                public partial class BrokenArgument
                {
                    [ColumnParallel(4, 4)] public partial Linear A { get; }
                }
                """)),
            ("B.cs", Source("""
                public partial class Split
                {
                    [Summa2D(8, 8)] public partial Linear Second { get; }
                }
                """)));
        Assert.Empty(output.AnalyzerDiagnostics);
        Assert.Equal(3, output.Sources.Length);
    }

    [Fact]
    public void NothingInGeneratedCode()
    {
        // A file the user's tooling generated (by header or by name) is not analyzed, and neither is
        // ShardGen's own output, which the analyzer sees in the compilation after generation.
        var output = GeneratorHarness.Run(
            ("Header.cs", "// <auto-generated/>\n" + Source("public class A { [ColumnParallel(4, 4)] public Linear? X { get; } }")),
            ("Named.g.cs", Source("public class B { [RowParallel(4, 4)] public Linear? X { get; } }")),
            ("Model.cs", Source("[ShardedModel] public partial class Mlp { [ColumnParallel(4, 4)] public partial Linear Up { get; } }")),
            ("User.cs", Source("public class C { [Summa2D(4, 4)] public Linear? X { get; } }")));
        Assert.Single(output.Sources);
        Assert.Equal(new[] { "Summa2D(4, 4)" }, Located(output.AnalyzerDiagnostics));
        Assert.Equal("User.cs", output.AnalyzerDiagnostics.Single().Location.SourceTree!.FilePath);
    }

    [Fact]
    public void PragmaWarningDisableSuppressesIt()
    {
        var output = GeneratorHarness.Run(Source("""
            public class Plain
            {
            #pragma warning disable SHARD004
                [ColumnParallel(4, 4)] public Linear? Quiet { get; }
            #pragma warning restore SHARD004
                [RowParallel(4, 4)] public Linear? Loud { get; }
            }
            """));
        Assert.Equal(new[] { "RowParallel(4, 4)" }, Located(output.AnalyzerDiagnostics));
    }

    [Fact]
    public void SeverityFollowsEditorConfigLikeAnyWarning()
    {
        // Reported through the compiler's diagnostic options: a project can raise SHARD004 to an error.
        var compilation = GeneratorHarness.CreateCompilation(("Model.cs", Source("public class Plain { [ColumnParallel(4, 4)] public Linear? A { get; } }")));
        var strict = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(
            ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("SHARD004", ReportDiagnostic.Error)));
        Assert.Equal(DiagnosticSeverity.Error, Assert.Single(GeneratorHarness.RunAnalyzers(strict)).Severity);
        var quiet = compilation.WithOptions(compilation.Options.WithSpecificDiagnosticOptions(
            ImmutableDictionary<string, ReportDiagnostic>.Empty.Add("SHARD004", ReportDiagnostic.Suppress)));
        Assert.Empty(GeneratorHarness.RunAnalyzers(quiet));
    }

    [Fact]
    public void LayerAttributesElsewhereAreLeftToTheCompiler()
    {
        // Layer attributes are only valid on properties: on a field or a method the compiler reports CS0592.
        var compilation = GeneratorHarness.CreateCompilation(("Model.cs", Source(
            "public class Plain { [ColumnParallel(4, 4)] public Linear? F; [RowParallel(4, 4)] public void M() { } }")));
        Assert.Equal(2, compilation.GetDiagnostics().Count(d => d.Id == "CS0592"));
        Assert.Empty(GeneratorHarness.RunAnalyzers(compilation));
    }
}
