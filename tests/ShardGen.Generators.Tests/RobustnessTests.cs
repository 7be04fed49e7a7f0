using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests;

/// <summary>
/// Broken user code never makes the generator (or the analyzer) throw, and never makes it emit code that adds errors.
/// Where the compiler already reports the problem, the generator stays quiet and emits nothing.
/// </summary>
public class RobustnessTests
{
    public static IEnumerable<object[]> BrokenInputs() => new Dictionary<string, string>
    {
        ["missing argument"] = "[ShardedModel] public partial class M { [ColumnParallel(1024)] public partial Linear Up { get; } }",
        ["wrong argument type"] = "[ShardedModel] public partial class M { [ColumnParallel(\"a\", 4096)] public partial Linear Up { get; } }",
        ["non-constant argument"] = "[ShardedModel] public partial class M { static int N = 4; [ColumnParallel(N, 4)] public partial Linear Up { get; } }",
        ["wrong named argument"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4, Bias = 1)] public partial Linear Up { get; } }",
        ["unknown named argument"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4, Width = 3)] public partial Linear Up { get; } }",
        ["unresolved property type"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Lineer Up { get; } }",
        ["unresolved attribute"] = "[ShardedModel] public partial class M { [ColumnParalel(4, 4)] public partial Linear Up { get; } }",
        ["devices not an int"] = "[ShardedModel(Devices = \"four\")] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["model attribute with ctor argument"] = "[ShardedModel(3)] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["empty model"] = "[ShardedModel] public partial class M { }",
        ["layer attribute on a method"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } [RowParallel(4, 4)] public void F() { } }",
        ["layer attribute on a method of a plain class"] = "public class P { [ColumnParallel(4, 4)] public void F() { } }",
        ["layer attribute on a field"] = "public class P { [Summa2D(4, 4)] public Linear? F; }",
        ["layer attribute on an indexer"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear this[int i] { get; } }",
        ["model attribute on a struct"] = "[ShardedModel] public partial struct S { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["model attribute on a record"] = "[ShardedModel] public partial record R { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["model attribute twice"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } } [ShardedModel] public partial class M { }",
        ["static model"] = "[ShardedModel] public static partial class M { }",
        ["abstract model"] = "[ShardedModel] public abstract partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["nested in generic"] = "public partial class G<T> { [ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } } }",
        ["syntax errors"] = "[ShardedModel] public partial class { [ColumnParallel(4, 4) public partial Linear Up { get }",
        ["keyword layer name"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear @class { get; } }",
        ["block: missing argument"] = "[ShardedModel] public partial class M { [TransformerBlock(512)] public partial TransformerBlock B { get; } }",
        ["block: wrong argument type"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, NormEpsilon = \"small\")] public partial TransformerBlock B { get; } }",
        ["block: double epsilon"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, NormEpsilon = 1e-5)] public partial TransformerBlock B { get; } }",
        ["block: non-constant argument"] = "[ShardedModel] public partial class M { static int H = 8; [TransformerBlock(512, H)] public partial TransformerBlock B { get; } }",
        ["block: unknown named argument"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, Dropout = 0.1f)] public partial TransformerBlock B { get; } }",
        ["block: undefined norm"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, Norm = (NormKind)9)] public partial TransformerBlock B { get; } }",
        ["block: undefined activation"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, Activation = (Activation)(-1))] public partial TransformerBlock B { get; } }",
        ["block: zero heads"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 0)] public partial TransformerBlock B { get; } }",
        ["block: negative hidden"] = "[ShardedModel] public partial class M { [TransformerBlock(-512, 8)] public partial TransformerBlock B { get; } }",
        ["block: negative KV heads"] = "[ShardedModel(Devices = 4)] public partial class M { [TransformerBlock(512, 8, KvHeads = -2)] public partial TransformerBlock B { get; } }",
        ["block: huge hidden"] = "[ShardedModel] public partial class M { [TransformerBlock(int.MaxValue, 1)] public partial TransformerBlock B { get; } }",
        ["block: NaN epsilon"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, NormEpsilon = float.NaN)] public partial TransformerBlock B { get; } }",
        ["block: infinite epsilon"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, NormEpsilon = float.PositiveInfinity)] public partial TransformerBlock B { get; } }",
        ["block: tiny epsilon"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8, NormEpsilon = float.Epsilon)] public partial TransformerBlock B { get; } }",
        ["block: width changes"] = "[ShardedModel] public partial class M { [ColumnParallel(512, 1024)] public partial Linear Up { get; } [TransformerBlock(512, 8)] public partial TransformerBlock B { get; } }",
        ["block: unresolved property type"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8)] public partial TransformerBlok B { get; } }",
        ["block: on a Linear property"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8)] public partial Linear B { get; } }",
        ["block: with a setter"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8)] public partial TransformerBlock B { get; set; } }",
        ["block: not partial"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8)] public TransformerBlock? B { get; } }",
        ["block: on a method"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8)] public void F() { } }",
        ["block: on a field of a plain class"] = "public class P { [TransformerBlock(512, 8)] public TransformerBlock? F; }",
        ["block: sequence parallel not a bool"] = "[ShardedModel(SequenceParallel = 1)] public partial class M { [TransformerBlock(512, 8)] public partial TransformerBlock B { get; } }",
        ["block: member named SequenceParallel"] = "[ShardedModel] public partial class M { [TransformerBlock(512, 8)] public partial TransformerBlock B { get; } public bool SequenceParallel => true; }",
        ["block: sequence parallel with a broken layer"] = "[ShardedModel(SequenceParallel = true)] public partial class M { [TransformerBlock(512)] public partial TransformerBlock B { get; } }",
        ["layer named like a generated member"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Random { get; } [RowParallel(4, 4)] public partial Linear Plan { get; } }",
        // Found by MutationFuzzTests:
        ["two layers of one name"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["a layer and a property of one name"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } new public Linear? Up { get; } }",
        ["abstract layer"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] abstract public partial Linear Up { get; } }",
        ["virtual layer"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public virtual partial Linear Up { get; } }",
        ["required member"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } public required int N { get; init; } }",
        ["private top-level containing type"] = "private partial class Outer { [ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } } }",
        ["protected top-level model"] = "[ShardedModel] protected partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["partial before sealed"] = "[ShardedModel] public partial sealed class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["model named partial"] = "[ShardedModel] public partial class @partial { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["model named var"] = "[ShardedModel] public partial class @var { [ColumnParallel(4, 4)] public partial Linear Up { get; } }",
        ["type named var in the model"] = "[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } class @var { } }",
    }.Select(kv => new object[] { kv.Key, "using ShardGen;\nnamespace Demo;\n\n" + kv.Value + "\n" });

    [Theory]
    [MemberData(nameof(BrokenInputs))]
    public void NeverThrowsAndNeverAddsErrors(string name, string source)
    {
        var output = GeneratorHarness.Run(source); // asserts the generator did not throw
        Assert.All(output.Diagnostics, d => Assert.StartsWith("SHARD", d.Id));
        Assert.All(output.AnalyzerDiagnostics, d => Assert.Equal("SHARD004", d.Id)); // asserts the analyzer did not throw
        Assert.True(output.Sources.Length <= 1, name);

        var generated = output.Output.SyntaxTrees.Except(output.Input.SyntaxTrees).ToHashSet();
        var errorsInGenerated = output.Output.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree is { } t && generated.Contains(t));
        Assert.Empty(errorsInGenerated);
    }

    [Theory]
    [InlineData("namespace @class;")]     // the hint name once kept the '@' and the generator threw
    [InlineData("namespace ;")]           // a namespace without a name
    [InlineData("namespace A.@record.B;")]
    public void OddNamespacesNeverThrowAndNeverAddErrors(string ns)
    {
        var output = GeneratorHarness.Run($"using ShardGen;\n{ns}\n[ShardedModel] public partial class M {{ [ColumnParallel(4, 4)] public partial Linear Up {{ get; }} }}\n");
        var generated = output.Output.SyntaxTrees.Except(output.Input.SyntaxTrees).ToHashSet();
        Assert.Empty(output.Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Location.SourceTree is { } t && generated.Contains(t)));
        Assert.All(output.Sources, s => Assert.DoesNotContain("@", s.HintName));
        if (!output.Input.GetDiagnostics().Any(d => d.Severity == DiagnosticSeverity.Error)) Assert.Single(output.Sources);
    }

    [Theory]
    [InlineData("[ShardedModel] public partial class M { [ColumnParallel(1024)] public partial Linear Up { get; } }")]
    [InlineData("[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Lineer Up { get; } }")]
    [InlineData("[ShardedModel(Devices = \"four\")] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } }")]
    [InlineData("[ShardedModel] public partial class M { static int N = 4; [ColumnParallel(N, 4)] public partial Linear Up { get; } }")]
    public void CompilerErrorsMeanNoOutputAndNoExtraDiagnostics(string body)
    {
        var output = GeneratorHarness.Run("using ShardGen;\nnamespace Demo;\n" + body);
        Assert.Contains(output.Input.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
        Assert.Empty(output.Sources);
        Assert.Empty(output.AllDiagnostics);
    }

    [Theory]
    [InlineData("float.PositiveInfinity", "float.PositiveInfinity")]
    [InlineData("float.Epsilon", "1E-45f")]
    [InlineData("0.1f", "0.1f")]
    [InlineData("1e-5f", "1E-05f")]
    [InlineData("3.4028235E+38f", "3.4028235E+38f")]
    public void EpsilonRoundTripsAsAFloatLiteral(string written, string emitted)
    {
        var output = GeneratorHarness.Run("using ShardGen;\nnamespace Demo;\n" +
            $"[ShardedModel] public partial class M {{ [TransformerBlock(512, 8, NormEpsilon = {written})] public partial TransformerBlock B {{ get; }} }}");
        Assert.Empty(output.Diagnostics);
        Assert.Contains($"global::ShardGen.NormKind.LayerNorm, true, {emitted}) }}", output.SingleSource);
        output.AssertCompilesCleanly();
    }

    [Fact]
    public void EpsilonLiteralIsCultureInvariant()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            var output = GeneratorHarness.Run("using ShardGen;\nnamespace Demo;\n" +
                "[ShardedModel] public partial class M { [TransformerBlock(512, 8, NormEpsilon = 0.5f)] public partial TransformerBlock B { get; } }");
            Assert.Contains("true, 0.5f) }", output.SingleSource);
            Assert.Contains("ε = 0.5", output.SingleSource);
            output.AssertCompilesCleanly();
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void BlockDefaultsAreResolvedInTheEmittedSpec()
    {
        // KvHeads 0 → heads, FfnHidden 0 → 4·hidden: the emitted LayerSpecs state the real shape.
        var output = GeneratorHarness.Run("using ShardGen;\nnamespace Demo;\n" +
            "[ShardedModel] public partial class M { [TransformerBlock(256, 4, KvHeads = 0, FfnHidden = 0)] public partial TransformerBlock B { get; } }");
        Assert.Empty(output.Diagnostics);
        Assert.Contains("{ Block = new(4, 4, 1024, global::ShardGen.NormKind.LayerNorm, true, 1E-05f) }", output.SingleSource);
    }

    [Fact]
    public void DuplicateModelAttributeGeneratesOneFile()
    {
        var output = GeneratorHarness.Run(
            ("A.cs", "using ShardGen;\nnamespace Demo;\n[ShardedModel] public partial class M { [ColumnParallel(4, 4)] public partial Linear Up { get; } }"),
            ("B.cs", "using ShardGen;\nnamespace Demo;\n[ShardedModel] public partial class M { }"));
        Assert.Single(output.Sources);
    }

    [Fact]
    public void LayersFollowDeclarationOrderAcrossPartialDeclarations()
    {
        var output = GeneratorHarness.Run(
            ("A.cs", "using ShardGen;\nnamespace Demo;\n[ShardedModel] public partial class M { [ColumnParallel(4, 8)] public partial Linear First { get; } [RowParallel(8, 4)] public partial Linear Second { get; } }"),
            ("B.cs", "using ShardGen;\nnamespace Demo;\npublic partial class M { [ColumnParallel(4, 16)] public partial Linear Third { get; } [RowParallel(16, 4)] public partial Linear Fourth { get; } }"));
        Assert.Empty(output.Diagnostics);
        string text = output.SingleSource;
        int[] at = { text.IndexOf("new(\"First\""), text.IndexOf("new(\"Second\""), text.IndexOf("new(\"Third\""), text.IndexOf("new(\"Fourth\"") };
        Assert.All(at, i => Assert.True(i > 0));
        Assert.Equal(at.OrderBy(i => i), at);
        output.AssertCompilesCleanly();
    }
}
