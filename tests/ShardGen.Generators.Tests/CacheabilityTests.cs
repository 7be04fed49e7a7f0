extern alias gen;

using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using ShardGen.Generators.Tests.Helpers;
using TrackingNames = gen::ShardGen.Generators.TrackingNames;

namespace ShardGen.Generators.Tests;

/// <summary>
/// The pipeline caches: a second run on a cloned compilation, or after an unrelated edit, reuses every
/// tracked step; an attribute change recomputes the model; no step holds a compiler object.
/// </summary>
public class CacheabilityTests
{
    private const string Model = """
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }

        [ShardedModel(SequenceParallel = true)]
        public partial class Gpt
        {
            [TransformerBlock(64, 4, KvHeads = 2, Norm = NormKind.RmsNorm, NormEpsilon = 1e-6f)]
            public partial TransformerBlock Block0 { get; }
        }

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Heads = 4, KvHeads = 2)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }

        [ShardedModel]
        public partial class Broken
        {
            [ColumnParallel(8, 16)]
            public Linear? NotPartial { get; }
        }
        """;

    // One stray use of each layer attribute (SHARD004, reported by OrphanLayerAnalyzer, not the generator): they
    // are orphan candidates (SHARD020 is the generator's, for partial ones) and must not disturb the models.
    private const string Orphans = """
        using ShardGen;
        namespace Demo;

        public class Plain
        {
            [ColumnParallel(4, 4)] public Linear? A { get; }
            [RowParallel(4, 4)] public Linear? B { get; }
            [Summa2D(4, 4)] public Linear? C { get; }
            [TransformerBlock(8, 2)] public TransformerBlock? D { get; }
            [VocabParallelEmbedding] public Embedding? F { get; }
            [TransformerStack] public TransformerStack? G { get; }
            [FinalNorm(NormKind.LayerNorm)] public Norm? H { get; }
            [LmHead] public Linear? I { get; }
        }

        public partial class PartialPlain
        {
            [ColumnParallel(4, 4)] public partial Linear E { get; } // SHARD020: feeds the orphan stages
        }
        """;

    private static readonly string[] StepNames = typeof(TrackingNames)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();

    private static CSharpCompilation Compilation() =>
        GeneratorHarness.CreateCompilation(("Model.cs", Model), ("Orphans.cs", Orphans));

    private static (GeneratorRunResult First, GeneratorRunResult Second) RunTwice(CSharpCompilation first, CSharpCompilation second)
    {
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(first);
        var firstResult = driver.GetRunResult().Results.Single();
        driver = driver.RunGenerators(second);
        return (firstResult, driver.GetRunResult().Results.Single());
    }

    private static IEnumerable<(string Step, object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result, string step) =>
        result.TrackedSteps.TryGetValue(step, out var runs)
            ? runs.SelectMany(r => r.Outputs.Select(o => (step, o.Value, o.Reason)))
            : Enumerable.Empty<(string, object, IncrementalStepRunReason)>();

    /// <summary>The output steps that emit source: those fed by the Models stage (diagnostic outputs are not).</summary>
    private static IEnumerable<IncrementalGeneratorRunStep> SourceOutputs(GeneratorRunResult result) =>
        result.TrackedOutputSteps.SelectMany(kv => kv.Value)
            .Where(s => s.Inputs.Any(i => i.Source.Name == TrackingNames.Models));

    [Fact]
    public void EveryTrackingNameIsUsed()
    {
        var (first, _) = RunTwice(Compilation(), Compilation());
        Assert.NotEmpty(StepNames);
        foreach (var name in StepNames)
            Assert.True(Outputs(first, name).Any(), $"Tracked step '{name}' produced nothing for the test input.");
    }

    [Fact]
    public void SecondRunOnClonedCompilationIsCached()
    {
        var compilation = Compilation();
        var (first, second) = RunTwice(compilation, compilation.Clone());

        foreach (var name in StepNames)
        {
            var outputs = Outputs(second, name).ToList();
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"{o.Step} was {o.Reason}"));
        }
        var emits = SourceOutputs(second).SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(emits);
        Assert.All(emits, o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.Equal(first.GeneratedSources.Select(s => s.SourceText.ToString()), second.GeneratedSources.Select(s => s.SourceText.ToString()));
    }

    /// <summary>
    /// The stages that pass syntax nodes or references on by identity, so that the stage after them can skip what
    /// did not change; everything downstream of them is plain values.
    /// </summary>
    private static readonly string[] IdentityStages =
        { TrackingNames.ClassSyntax, TrackingNames.FileSyntax, TrackingNames.CompilationInputs };

    [Fact]
    public void NoStepHoldsCompilerObjects()
    {
        var (first, _) = RunTwice(Compilation(), Compilation());
        foreach (var name in StepNames.Except(IdentityStages))
            foreach (var (step, value, _) in Outputs(first, name))
                Assert.Null(ModelWalker.FindForbidden(value, step));
    }

    [Fact]
    public void IdentityStagesAreFewAndHoldWhatTheySay()
    {
        // The exemption above must not grow unnoticed: the stages exist, and the walker does flag them.
        var (first, _) = RunTwice(Compilation(), Compilation());
        foreach (var name in IdentityStages)
        {
            Assert.Contains(name, StepNames);
            Assert.Contains(Outputs(first, name), o => ModelWalker.FindForbidden(o.Value, name) is not null);
        }
    }

    [Fact]
    public void WalkerFindsCompilerObjects()
    {
        // The check above must be able to fail: a location hidden in a tuple inside a list is found.
        var tree = CSharpSyntaxTree.ParseText("class C { }");
        var value = (1, new List<object> { "x", (2, tree.GetRoot().GetLocation()) });
        Assert.Equal("v.Item2[1].Item2: SourceLocation", ModelWalker.FindForbidden(value, "v"));
        Assert.NotNull(ModelWalker.FindForbidden(new { Node = tree.GetRoot() }));
    }

    [Fact]
    public void UnrelatedEditKeepsEverythingCached()
    {
        var compilation = Compilation();
        var edited = compilation.AddSyntaxTrees(GeneratorHarness.ParseFile(
            "Unrelated.cs", "namespace Other; public class Unrelated { public int Value { get; set; } }"));
        var (_, second) = RunTwice(compilation, edited);

        // The added file is new to the per-file stage, and only there: its facts merge into an unchanged value.
        Assert.Contains(Outputs(second, TrackingNames.FileSyntax), o => o.Reason == IncrementalStepRunReason.New);
        foreach (var name in StepNames.Where(n => n != TrackingNames.FileSyntax))
            Assert.All(Outputs(second, name), o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"{o.Step} was {o.Reason}"));
        var emits = SourceOutputs(second).SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(emits);
        Assert.All(emits, o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void AttributeArgumentChangeRecomputesTheModel()
    {
        var compilation = Compilation();
        var (first, second) = RunTwice(compilation, GeneratorHarness.EditFile(compilation, "Model.cs", Model.Replace("4096", "8192")));

        // Mlp is plain enough for the syntactic reader: its reading is redone, not the semantic parse.
        Assert.Contains(Outputs(second, TrackingNames.SyntacticParseModel), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains(Outputs(second, TrackingNames.Models), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains(SourceOutputs(second).SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("8192", second.GeneratedSources.Single(s => s.HintName == "Demo.Mlp.g.cs").SourceText.ToString());
        Assert.DoesNotContain("8192", first.GeneratedSources.Single(s => s.HintName == "Demo.Mlp.g.cs").SourceText.ToString());
        // The block model did not change: its output is not produced again.
        Assert.Contains(SourceOutputs(second).SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Cached);
    }

    [Fact]
    public void BlockAttributeChangeRecomputesTheModel()
    {
        // A change to a named block argument (here a float) is a different model, and different code.
        var compilation = Compilation();
        var (first, second) = RunTwice(compilation, GeneratorHarness.EditFile(compilation, "Model.cs", Model.Replace("1e-6f", "1e-3f")));

        Assert.Contains(Outputs(second, TrackingNames.Models), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains("0.001f", second.GeneratedSources.Single(s => s.HintName == "Demo.Gpt.g.cs").SourceText.ToString());
        Assert.Contains("1E-06f", first.GeneratedSources.Single(s => s.HintName == "Demo.Gpt.g.cs").SourceText.ToString());
    }
}
