extern alias gen;

using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ShardGen.Generators.Tests.Helpers;
using TrackingNames = gen::ShardGen.Generators.TrackingNames;

namespace ShardGen.Generators.Tests;

/// <summary>
/// The syntactic reader: plain models are read from syntax and stay cached when other files change; any
/// class whose names could mean something else, or that the reader cannot settle alone, goes to the semantic
/// parser. Every case is also run with the syntactic reader off: files and diagnostics must be identical
/// (<see cref="GeneratorHarness.Run(string, string)"/> does that for every generator test).
/// </summary>
public class SyntacticReaderTests
{
    private const string Plain = """
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 2)]
        public partial class Mlp
        {
            [ColumnParallel(64, 256, Activation = Activation.Gelu)]
            public partial Linear Up { get; }

            [RowParallel(256, 64, Bias = false)]
            public partial Linear Down { get; }
        }
        """;

    private const string IntEpsilonBlock = """
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(64, 4, NormEpsilon = 1)]
            public partial TransformerBlock B0 { get; }
        }
        """;

    /// <summary>How many models each parser produced, from a tracked run.</summary>
    private static (int Syntactic, int Semantic) Routes(params (string Path, string Source)[] sources)
    {
        var compilation = GeneratorHarness.CreateCompilation(sources);
        var run = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation).GetRunResult().Results.Single();
        return (Count(run, TrackingNames.SyntacticParseModel), Count(run, TrackingNames.ParseModel, nonEmptyOnly: true));
    }

    private static int Count(GeneratorRunResult run, string step, bool nonEmptyOnly = false) =>
        run.TrackedSteps.TryGetValue(step, out var steps)
            ? steps.SelectMany(s => s.Outputs).Count(o => !nonEmptyOnly || HasContent(o.Value))
            : 0;

    /// <summary>A parse result with a model or a diagnostic (the semantic parser also sees classes that are not models).</summary>
    private static bool HasContent(object value)
    {
        dynamic result = value;
        return result.Model is not null || result.Diagnostics.Count > 0;
    }

    [Fact]
    public void PlainModelsAreReadFromSyntax()
    {
        const string blocks = """
            using ShardGen;
            namespace Demo.Blocks
            {
                [ShardedModel(SequenceParallel = true)]
                internal sealed partial class Gpt
                {
                    [TransformerBlock(64, 4, KvHeads = 2, Norm = NormKind.RmsNorm, NormEpsilon = 1e-6f, Causal = false)]
                    public partial TransformerBlock B0 { get; }

                    [TransformerBlock(64, 4, Activation = Activation.Relu, FfnHidden = 128, Bias = false)]
                    public partial TransformerBlock B1 { get; }

                    [Summa2D(64, 64, WeightLayout = WeightLayout.OutIn)]
                    internal partial Linear Head { get; }

                    public int Helper() => 1;
                    private readonly int _field = 2;
                }
            }
            """;
        var output = GeneratorHarness.Run(("Mlp.cs", Plain), ("Gpt.cs", blocks));
        Assert.Equal(2, output.Sources.Length);
        Assert.Equal((2, 0), Routes(("Mlp.cs", Plain), ("Gpt.cs", blocks)));
    }

    [Fact]
    public void LanguageModelsOfTheReadmeAreReadFromSyntax()
    {
        // [VocabParallelEmbedding] has no argument list, [FinalNorm(NormKind.RmsNorm)] a positional enum, and the
        // LLaMA class a property named like an attribute (FinalNorm): none of these needs the compiler.
        Assert.Equal((2, 0), Routes(("Llama.cs", LanguageModelParsingTests.Llama), ("Gpt2.cs", LanguageModelParsingTests.Gpt2)));
        Assert.Equal((1, 0), Routes(("Pinned.cs", LanguageModelParsingTests.Pinned)));
    }

    [Fact]
    public void LanguageModelDiagnosticsComeFromTheSyntacticReaderToo()
    {
        // SHARD024 (order) and SHARD007 (a width set twice, differently, across an open one): same places, same words.
        var source = LanguageModelParsingTests.Llama
            .Replace("[VocabParallelEmbedding]", "[VocabParallelEmbedding(Hidden = 64)]")
            .Replace("[FinalNorm(NormKind.RmsNorm)]", "[FinalNorm(NormKind.RmsNorm, Hidden = 96)]");
        Assert.Contains(GeneratorHarness.Run(source).Diagnostics, d => d.Id == "SHARD007");
        Assert.Equal((1, 0), Routes(("Model.cs", source)));
        var reordered = LanguageModelParsingTests.Gpt2.Replace("[VocabParallelEmbedding] public partial Embedding Embed { get; }\n", "")
            .Replace("[LmHead]", "[VocabParallelEmbedding] public partial Embedding Embed { get; }\n    [LmHead]");
        Assert.Contains(GeneratorHarness.Run(reordered).Diagnostics, d => d.Id == "SHARD024");
        Assert.Equal((1, 0), Routes(("Model.cs", reordered)));
    }

    [Fact]
    public void RuleDiagnosticsComeFromTheSyntacticReaderToo()
    {
        // Layers that do not chain (SHARD007) and a device count that does not divide (SHARD008): the syntactic
        // reading reports them at the same places, with the same words, as the semantic parser.
        var source = Plain.Replace("RowParallel(256, 64", "RowParallel(255, 64").Replace("Devices = 2", "Devices = 3");
        var output = GeneratorHarness.Run(source);
        Assert.Contains(output.Diagnostics, d => d.Id == "SHARD007");
        Assert.Equal((1, 0), Routes(("Model.cs", source)));
    }

    /// <summary>Inputs the reader must not settle alone: each goes to the semantic parser, and the result is the same.</summary>
    public static TheoryData<string, string, string> SemanticCases() => new()
    {
        // name, model source, other file
        { "a Linear of the user's own namespace", Plain, "namespace Demo; public class Linear { }" },
        { "a class named like the short attribute", Plain, "namespace Demo; public class ColumnParallel { }" },
        { "an Activation type of the user's", Plain, "namespace Demo; public enum Activation { None, Gelu }" },
        { "a global alias", Plain, "global using Col = ShardGen.ColumnParallelAttribute;" },
        { "a global using static", Plain, "global using static System.Math;" },
        { "a second partial declaration", Plain, "namespace Demo; public partial class Mlp { public int Extra => 1; }" },
        { "a local alias", Plain.Replace("using ShardGen;", "using ShardGen;\nusing L = ShardGen.Linear;"), "" },
        { "a using static", Plain.Replace("using ShardGen;", "using ShardGen;\nusing static System.Math;"), "" },
        { "a base class", Plain.Replace("public partial class Mlp", "public partial class Mlp : System.Object"), "" },
        { "a constant argument", Plain.Replace("ColumnParallel(64, 256", "ColumnParallel(Width, 256").Replace("{\n    [Column", "{\n    private const int Width = 64;\n    [Column"), "" },
        { "a qualified attribute", Plain.Replace("[RowParallel(", "[ShardGen.RowParallel("), "" },
        { "a member named Activation", Plain.Replace("{\n    [Column", "{\n    public int Activation => 0;\n    [Column"), "" },
        { "a nested model", "using ShardGen;\nnamespace Demo;\npublic partial class Outer\n{\n" + Plain[(Plain.IndexOf('[') )..] + "\n}", "" },
        { "a reserved member name", Plain.Replace("{\n    [Column", "{\n    public void Forward() { }\n    [Column"), "" },
        { "a layer that is not partial", Plain.Replace("public partial Linear Down { get; }", "public Linear? Down { get; }"), "" },
        { "a nullable layer type", Plain.Replace("public partial Linear Down", "public partial Linear? Down"), "" },
        { "an escaped identifier", Plain.Replace("Linear Up", "Linear @Up"), "" },
        { "a record", Plain.Replace("partial class Mlp", "partial record Mlp"), "" },
        { "a generic model", Plain.Replace("partial class Mlp", "partial class Mlp<T>"), "" },
        { "an integer where a float goes", IntEpsilonBlock, "" },
        { "no ShardGen reference", Plain.Replace("using ShardGen;", ""), "" },
        { "a nested type named like an attribute", LanguageModelParsingTests.Llama.Replace("public partial class Llama\n{", "public partial class Llama\n{\n    private sealed class LmHead { }"), "" },
        { "a named-colon enum argument", LanguageModelParsingTests.Llama.Replace("FinalNorm(NormKind.RmsNorm)", "FinalNorm(kind: NormKind.RmsNorm)"), "" },
        { "a cast enum value", LanguageModelParsingTests.Llama.Replace("FinalNorm(NormKind.RmsNorm)", "FinalNorm((NormKind)1)"), "" },
    };

    [Theory]
    [MemberData(nameof(SemanticCases))]
    public void UnsettledInputsGoToTheSemanticParser(string name, string model, string other)
    {
        var sources = other.Length == 0 ? new[] { ("Model.cs", model) } : new[] { ("Model.cs", model), ("Other.cs", other) };
        GeneratorHarness.Run(sources); // same files and diagnostics as with the syntactic reader off
        var (syntactic, _) = Routes(sources);
        Assert.True(syntactic == 0, $"{name}: read from syntax, but the syntax alone cannot settle it");
    }

    [Theory]
    [InlineData("public class Linear { }", false)]
    [InlineData("public enum Activation { None }", false)]
    [InlineData("public class ColumnParallel { }", true)] // not an attribute: [ColumnParallel] still means ShardGen's
    public void ANameFromAReferencedAssemblyIsCaughtByTheScopeCheck(string declaration, bool generates)
    {
        // Only binding can see this one: the clashing type lives in a referenced assembly, imported by a using.
        // The compiler reports the clash (CS0104) and the semantic parser emits nothing; read from syntax alone,
        // the model would look fine.
        var library = GeneratorHarness.CreateCompilation(("Lib.cs", "namespace Other;\n" + declaration))
            .WithAssemblyName("OtherLib");
        using var image = new System.IO.MemoryStream();
        Assert.True(library.Emit(image).Success);
        var reference = MetadataReference.CreateFromImage(image.ToArray());
        var model = Plain.Replace("using ShardGen;", "using ShardGen;\nusing Other;");

        var compilation = GeneratorHarness.CreateCompilation(("Model.cs", model)).AddReferences(reference);
        var syntactic = GeneratorHarness.RunFresh(compilation);
        SyntacticAssert.SameResults(GeneratorHarness.RunFresh(compilation, syntactic: false), syntactic);
        Assert.Equal(generates, syntactic.GeneratedSources.Length > 0);
    }

    [Fact]
    public void AConflictingTypeMakesTheSemanticResult()
    {
        // With the syntactic reader unchecked this would emit a model over the user's own Linear. The semantic parser
        // reports SHARD003 instead, and so must the generator.
        var output = GeneratorHarness.Run(("Model.cs", Plain), ("Other.cs", "namespace Demo; public class Linear { }"));
        Assert.Empty(output.Sources);
        Assert.Contains(output.Diagnostics, d => d.Id == "SHARD003");
    }

    [Fact]
    public void EditingOneModelRereadsOnlyThatModel()
    {
        var sources = Enumerable.Range(0, 12).Select(i => ($"M{i}.cs", Plain.Replace("class Mlp", $"class Mlp{i}"))).ToArray();
        var compilation = GeneratorHarness.CreateCompilation(sources);
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);
        var edited = GeneratorHarness.EditFile(compilation, "M5.cs", sources[5].Item2.Replace("Activation.Gelu", "Activation.Relu"));
        var run = driver.RunGenerators(edited).GetRunResult().Results.Single();

        var reasons = run.TrackedSteps[TrackingNames.SyntacticParseModel].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Equal(12, reasons.Count);
        Assert.Equal(1, reasons.Count(r => r == IncrementalStepRunReason.Modified));
        Assert.Equal(11, reasons.Count(r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
        Assert.Equal(0, Count(run, TrackingNames.ParseModel, nonEmptyOnly: true));
        Assert.Contains("Activation.Relu", run.GeneratedSources.Single(s => s.HintName == "Demo.Mlp5.g.cs").SourceText.ToString());
    }

    /// <summary>
    /// A sequence of edits through one driver with the syntactic reader, each compared to a fresh driver without it:
    /// the verdict must follow files that change what names mean, in both directions.
    /// </summary>
    [Fact]
    public void IncrementalRunsFollowEditsThatChangeWhatNamesMean()
    {
        var steps = new (string Description, System.Func<CSharpCompilation, CSharpCompilation> Edit, bool ExpectOutput)[]
        {
            ("start", c => c, true),
            ("add a Linear of the user's", c => c.AddSyntaxTrees(GeneratorHarness.ParseFile("Conflict.cs", "namespace Demo; public class Linear { }")), false),
            ("remove it again", c => c.RemoveSyntaxTrees(c.SyntaxTrees.Single(t => t.FilePath == "Conflict.cs")), true),
            ("add a second declaration", c => c.AddSyntaxTrees(GeneratorHarness.ParseFile("Part.cs", "namespace Demo; public partial class Mlp { [ColumnParallel(64, 64)] public partial Linear Extra { get; } }")), true),
            ("remove it", c => c.RemoveSyntaxTrees(c.SyntaxTrees.Single(t => t.FilePath == "Part.cs")), true),
            ("add a global alias", c => c.AddSyntaxTrees(GeneratorHarness.ParseFile("Alias.cs", "global using Cp = ShardGen.ColumnParallelAttribute;")), true),
        };

        var compilation = GeneratorHarness.CreateCompilation(("Model.cs", Plain));
        GeneratorDriver driver = GeneratorHarness.CreateDriver();
        foreach (var (description, edit, expectOutput) in steps)
        {
            compilation = edit(compilation);
            driver = driver.RunGenerators(compilation);
            var incremental = driver.GetRunResult().Results.Single();
            SyntacticAssert.SameResults(GeneratorHarness.RunFresh(compilation, syntactic: false), incremental);
            Assert.True(expectOutput == incremental.GeneratedSources.Length > 0, $"after '{description}'");
        }
    }
}
