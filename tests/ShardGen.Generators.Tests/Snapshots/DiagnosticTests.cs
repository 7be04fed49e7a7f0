using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests.Snapshots;

/// <summary>
/// One test per diagnostic: the ID, the exact source text it points at (a real location in the user's
/// tree, so #pragma and editors work), no generated source for a model with errors, and the full listing
/// (ID, severity, file(line,col), message) as a snapshot. Diagnostics come from the generator and from the
/// analyzers (SHARD004, <c>OrphanLayerAnalyzer</c>), run on the generated compilation as the compiler does.
/// </summary>
public partial class DiagnosticTests
{
    /// <param name="alsoCheck">Further assertions on the same run, for what the snapshot does not show.</param>
    private static Task Verify(string source, string id, string locatedAt, bool expectSource = false,
        System.Action<GeneratorOutput>? alsoCheck = null, [CallerMemberName] string testMethod = "")
    {
        var output = GeneratorHarness.Run(source);
        var diagnostic = output.AllDiagnostics.FirstOrDefault(d => d.Id == id);
        Assert.True(diagnostic is not null, $"Expected {id}, got:\n{output.DiagnosticsText()}");
        Assert.True(diagnostic!.Location.IsInSource, "The diagnostic must point into the user's syntax tree.");
        Assert.Equal(locatedAt, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Equal("ShardGen", diagnostic.Descriptor.Category);
        Assert.Equal($"https://github.com/shardgen/shardgen/blob/main/docs/diagnostics.md#{id.ToLowerInvariant()}", diagnostic.Descriptor.HelpLinkUri);
        if (!expectSource) Assert.Empty(output.Sources);
        alsoCheck?.Invoke(output);
        return Snapshot.Verify(output.DiagnosticsText(), extension: "txt", testMethod: testMethod);
    }

    [Fact]
    public Task SHARD001_ModelNotPartial() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD001", "Mlp");

    [Fact]
    public Task SHARD001_ContainingTypeNotPartial() => Verify("""
        using ShardGen;
        namespace Demo;

        public class Outer
        {
            [ShardedModel]
            public partial class Mlp
            {
                [ColumnParallel(1024, 4096)]
                public partial Linear Up { get; }
            }
        }
        """, "SHARD001", "Outer");

    [Fact]
    public Task SHARD002_LayerNotPartial() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public Linear Up { get; }
        }
        """, "SHARD002", "Up");

    [Fact]
    public Task SHARD003_LayerOfWrongType() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial float[,] Up { get; }
        }
        """, "SHARD003", "Up");

    [Fact]
    public Task SHARD003_StaticLayer() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public static partial Linear Up { get; }
        }
        """, "SHARD003", "Up");

    [Fact]
    public Task SHARD003_LayerWithSetter() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; set; }
        }
        """, "SHARD003", "Up");

    [Fact]
    public Task SHARD004_LayerOutsideModel() => Verify("""
        using ShardGen;
        namespace Demo;

        public class Plain
        {
            [ColumnParallel(1024, 4096)]
            public Linear? Up { get; }
        }
        """, "SHARD004", "ColumnParallel(1024, 4096)");

    [Fact]
    public Task SHARD005_TwoStrategies() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            [RowParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD005", "RowParallel(1024, 4096)");

    [Fact]
    public Task SHARD006_NonPositiveFeatures() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(0, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD006", "ColumnParallel(0, 4096)");

    [Fact]
    public Task SHARD007_FeaturesDoNotChain() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            [RowParallel(2048, 1024)]
            public partial Linear Down { get; }
        }
        """, "SHARD007", "RowParallel(2048, 1024)", alsoCheck: output =>
    {
        // The earlier layer is the additional location.
        var d = output.Diagnostics.Single(d => d.Id == "SHARD007");
        var other = Assert.Single(d.AdditionalLocations);
        Assert.Equal("ColumnParallel(1024, 4096)", other.SourceTree!.GetText().ToString(other.SourceSpan));
    });

    [Fact]
    public Task SHARD008_NotDivisibleByDevices() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 3)]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """, "SHARD008", "ColumnParallel(1024, 4096)");

    [Fact]
    public Task SHARD009_GridNotSquare() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 2)]
        public partial class Grid
        {
            [Summa2D(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD009", "Summa2D(1024, 4096)");

    [Fact]
    public Task SHARD010_NotDivisibleByGrid() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4)]
        public partial class Grid
        {
            [Summa2D(9, 8)]
            public partial Linear Up { get; }
        }
        """, "SHARD010", "Summa2D(9, 8)");

    [Fact]
    public Task SHARD011_NoLayers() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Empty
        {
            public int NotALayer { get; }
        }
        """, "SHARD011", "Empty");

    [Fact]
    public Task SHARD012_NegativeDevices() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = -2)]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD012", "Mlp");

    [Fact]
    public Task SHARD013_GenericModel() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp<T>
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD013", "Mlp");

    [Fact]
    public Task SHARD014_ReservedMemberName() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            public float[,] Forward(float[,] x, int steps) => x;
        }
        """, "SHARD014", "Forward");

    [Fact]
    public Task SHARD015_LayerAlreadyImplemented() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            public partial Linear Up => null!;
        }
        """, "SHARD015", "Up");

    [Fact]
    public Task SHARD016_UndefinedActivation() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096, Activation = (Activation)42)]
            public partial Linear Up { get; }
        }
        """, "SHARD016", "ColumnParallel(1024, 4096, Activation = (Activation)42)");

    [Fact]
    public Task SHARD003_BlockAttributeOnLinearProperty() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8)]
            public partial Linear Block0 { get; }
        }
        """, "SHARD003", "Block0");

    [Fact]
    public Task SHARD003_ColumnParallelOnBlockProperty() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [ColumnParallel(512, 512)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD003", "Block0");

    [Fact]
    public Task SHARD003_BlockOfWrongType() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8)]
            public partial float[,] Block0 { get; }
        }
        """, "SHARD003", "Block0");

    [Fact]
    public Task SHARD004_BlockOutsideModel() => Verify("""
        using ShardGen;
        namespace Demo;

        public class Plain
        {
            [TransformerBlock(512, 8)]
            public TransformerBlock? Block0 { get; }
        }
        """, "SHARD004", "TransformerBlock(512, 8)");

    [Fact]
    public Task SHARD005_BlockAndColumnParallel() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8)]
            [ColumnParallel(512, 512)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD005", "ColumnParallel(512, 512)");

    [Fact]
    public Task SHARD016_UndefinedNormKind() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8, Norm = (NormKind)7)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD016", "TransformerBlock(512, 8, Norm = (NormKind)7)");

    [Fact]
    public Task SHARD017_HeadsDoNotDivideHidden() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 6)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD017", "TransformerBlock(512, 6)");

    [Fact]
    public Task SHARD017_KvHeadsDoNotDivideHeads() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8, KvHeads = 3)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD017", "TransformerBlock(512, 8, KvHeads = 3)");

    [Fact]
    public Task SHARD017_NonPositiveEpsilon() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8, NormEpsilon = 0f)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD017", "TransformerBlock(512, 8, NormEpsilon = 0f)");

    [Fact]
    public Task SHARD018_HeadsNotDivisibleByDevices() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 3)]
        public partial class Gpt
        {
            [TransformerBlock(384, 4, FfnHidden = 1536)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD018", "TransformerBlock(384, 4, FfnHidden = 1536)");

    [Fact]
    public Task SHARD018_KvHeadsDoNotFitDevices() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4)]
        public partial class Gpt
        {
            [TransformerBlock(768, 12, KvHeads = 6)]
            public partial TransformerBlock Block0 { get; }
        }
        """, "SHARD018", "TransformerBlock(768, 12, KvHeads = 6)");

    [Fact]
    public Task SHARD019_SequenceParallelWithoutBlocks() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(SequenceParallel = true)]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD019", "SequenceParallel = true", expectSource: true);

    [Fact]
    public void SHARD019_IsOnlyAWarning()
    {
        const string source = """
            using ShardGen;
            namespace Demo;

            [ShardedModel(SequenceParallel = true)]
            public partial class Mlp
            {
                [ColumnParallel(1024, 4096)]
                public partial Linear Up { get; }
            }
            """;
        var output = GeneratorHarness.Run(source);
        Assert.Equal(DiagnosticSeverity.Warning, Assert.Single(output.Diagnostics).Severity);
        // A warning only: the model is still generated (SequenceParallel is passed on, and ignored) and compiles cleanly.
        Assert.Contains("private const bool SequenceParallel = true;", output.SingleSource);
        output.AssertCompilesCleanly();
    }

    [Fact]
    public Task SHARD003_LayerOnIndexer() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear this[int i] { get; }
        }
        """, "SHARD003", "this");

    [Fact]
    public Task SHARD013_NestedInFileClass() => Verify("""
        using ShardGen;
        namespace Demo;

        file partial class Outer
        {
            [ShardedModel]
            public partial class Mlp
            {
                [ColumnParallel(1024, 4096)]
                public partial Linear Up { get; }
            }
        }
        """, "SHARD013", "Mlp");

    [Fact]
    public Task SHARD020_PartialLayerWithoutModel() => Verify("""
        using ShardGen;
        namespace Demo;

        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """, "SHARD020", "Up", alsoCheck: output =>
        {
            // One error per layer, and not also the SHARD004 warning.
            Assert.Equal(2, output.AllDiagnostics.Count(d => d.Id == "SHARD020"));
            Assert.DoesNotContain(output.AllDiagnostics, d => d.Id == "SHARD004");
        });

    [Fact]
    public Task SHARD020_NotForAModelDeclaredInAnotherPart() => VerifyNoneOf("SHARD020",
        ("Mlp.cs", """
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """),
        ("Mlp.Down.cs", """
        using ShardGen;
        namespace Demo;

        public partial class Mlp
        {
            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """));

    [Theory]
    [InlineData("Forward")]
    [InlineData("Weights")]
    [InlineData("Create")]
    [InlineData("LayerSpecs")]
    public void SHARD021_ModelNamedLikeMember(string name)
    {
        var output = GeneratorHarness.Run($$"""
            using ShardGen;
            namespace Demo;

            [ShardedModel]
            public partial class {{name}}
            {
                [ColumnParallel(1024, 4096)]
                public partial Linear Up { get; }
            }
            """);
        var diagnostic = Assert.Single(output.AllDiagnostics, d => d.Id == "SHARD021");
        Assert.Equal(name, diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Contains($"rename the class (for example to '{name}Model')", diagnostic.GetMessage());
        Assert.Empty(output.Sources);
    }

    [Fact]
    public Task SHARD021_ModelNamedForward() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Forward
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD021", "Forward");

    [Fact]
    public Task SHARD022_FieldTargetedLayerAttribute() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            [field: RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """, "SHARD022", "RowParallel(4096, 1024)");

    [Fact]
    public Task SHARD023_ShadowedLayerAttribute() => Verify("""
        using ShardGen;
        namespace Demo;

        public sealed class ColumnParallelAttribute : System.Attribute
        {
            public ColumnParallelAttribute(int inFeatures, int outFeatures) { }
        }

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """, "SHARD023", "ColumnParallel(1024, 4096)");

    [Fact]
    public Task SHARD023_ShadowedByANestedTypeInAnotherFile() => VerifyFiles("SHARD023", "RowParallel(4096, 1024)",
        ("Mlp.cs", """
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """),
        ("Mlp.Attributes.cs", """
        namespace Demo;

        public partial class Mlp
        {
            private sealed class RowParallelAttribute : System.Attribute
            {
                public RowParallelAttribute(int inFeatures, int outFeatures) { }
            }
        }
        """));

    private static Task VerifyFiles(string id, string locatedAt, params (string Path, string Source)[] sources)
    {
        var output = GeneratorHarness.Run(sources); // both readers, compared
        var diagnostic = output.AllDiagnostics.FirstOrDefault(d => d.Id == id);
        Assert.True(diagnostic is not null, $"Expected {id}, got:\n{output.DiagnosticsText()}");
        Assert.Equal(locatedAt, diagnostic!.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));
        Assert.Empty(output.Sources);
        return Task.CompletedTask;
    }

    [Fact]
    public Task SHARD023_ShadowedModelAttribute() => Verify("""
        using ShardGen;
        namespace Demo;

        public sealed class ShardedModelAttribute : System.Attribute { }

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096)]
            public partial Linear Up { get; }
        }
        """, "SHARD023", "ShardedModel", alsoCheck: output =>
            // The class has an attribute named [ShardedModel]: telling them to add one would mislead.
            Assert.DoesNotContain(output.AllDiagnostics, d => d.Id == "SHARD020"));

    private static Task VerifyNoneOf(string id, params (string Path, string Source)[] sources)
    {
        var output = GeneratorHarness.Run(sources);
        Assert.DoesNotContain(output.AllDiagnostics, d => d.Id == id);
        Assert.NotEmpty(output.Sources);
        output.AssertCompilesCleanly();
        return Task.CompletedTask;
    }

    [Fact]
    public void EveryDescriptorIsCoveredAndTracked()
    {
        // Each ID has a test above, and AnalyzerReleases.Unshipped.md lists exactly the catalog.
        var ids = typeof(DiagnosticTests).GetMethods().Select(m => m.Name).Where(n => n.StartsWith("SHARD")).Select(n => n[..8]).ToHashSet();
        var catalog = Catalog.Ids;
        Assert.Equal(catalog.OrderBy(x => x), ids.OrderBy(x => x));

        string releases = System.IO.File.ReadAllText(System.IO.Path.Combine(RepoRoot(), "generators", "ShardGen.Generators", "AnalyzerReleases.Unshipped.md"));
        var tracked = releases.Split('\n').Where(l => l.StartsWith("SHARD")).Select(l => l[..8]).ToList();
        Assert.Equal(catalog.OrderBy(x => x), tracked.OrderBy(x => x));
    }

    [Fact]
    public void EveryHelpLinkHasItsSectionInDocsAndEverySectionItsDescriptor()
    {
        // docs/diagnostics.md: one "## SHARDxxx" heading (GitHub anchor "#shardxxx") per descriptor, each with a
        // wrong and a right example; every link is the page plus its own anchor.
        string doc = System.IO.File.ReadAllText(System.IO.Path.Combine(RepoRoot(), "docs", "diagnostics.md")).Replace("\r\n", "\n");
        var sections = System.Text.RegularExpressions.Regex.Split(doc, @"^## ", System.Text.RegularExpressions.RegexOptions.Multiline).Skip(1)
            .ToDictionary(section => section[..section.IndexOf('\n')].Trim(), section => section);
        foreach (var (id, link) in Catalog.HelpLinks)
        {
            Assert.Equal("https://github.com/shardgen/shardgen/blob/main/docs/diagnostics.md#" + id.ToLowerInvariant(), link);
            string anchor = link[(link.IndexOf('#') + 1)..];
            var heading = sections.Keys.SingleOrDefault(h => h.ToLowerInvariant() == anchor);
            Assert.True(heading is not null, $"docs/diagnostics.md has no section '## {id}' for the anchor #{anchor}.");
            Assert.Contains("Wrong:\n\n```csharp", sections[heading!]);
            Assert.Contains("Right:\n\n```csharp", sections[heading!]);
        }
        Assert.Equal(Catalog.Ids.OrderBy(x => x), sections.Keys.OrderBy(x => x));
    }

    private static string RepoRoot([CallerFilePath] string file = "") =>
        System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(file)!, "..", "..", ".."));
}
