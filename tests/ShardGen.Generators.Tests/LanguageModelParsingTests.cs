extern alias gen;

using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ShardGen.Generators.Tests.Helpers;
using gen::ShardGen.Generators.Parsing;

namespace ShardGen.Generators.Tests;

// The generator's own copies of the planning types (inside the namespace: ShardGen's runtime types would win).
using Activation = gen::ShardGen.Activation;
using LayerSpec = gen::ShardGen.Planning.LayerSpec;
using MlpKind = gen::ShardGen.MlpKind;
using NormKind = gen::ShardGen.NormKind;
using ParallelStrategy = gen::ShardGen.Planning.ParallelStrategy;
using TransformerSpec = gen::ShardGen.Planning.TransformerSpec;
using WeightLayout = gen::ShardGen.WeightLayout;

/// <summary>
/// The language-model attributes read into LayerSpecs: the family classes of the README (LLaMA, GPT-2) and one with
/// every size pinned give exactly the expected layers, by the syntactic reader and by the semantic parser alike, and
/// sizes left at 0 stay 0 (read from config.json at load).
/// </summary>
public class LanguageModelParsingTests
{
    public const string Llama = """
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
            public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """;

    public const string Gpt2 = """
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt2
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [PositionEmbedding] public partial Embedding Positions { get; }
            [TransformerStack(Norm = NormKind.LayerNorm, Mlp = MlpKind.Plain, Activation = Activation.GeluTanh, Rotary = false, Bias = true)]
            public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.LayerNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """;

    public const string Pinned = """
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 2)]
        public partial class TinyLlama
        {
            [VocabParallelEmbedding(Vocab = 1003, Hidden = 64)] public partial Embedding Embed { get; }
            [TransformerStack(Layers = 2, Hidden = 64, Heads = 4, KvHeads = 2, FfnHidden = 176, NormEpsilon = 1e-6f, RopeTheta = 500000f,
                Causal = true, Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true, Bias = false)]
            public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm, Hidden = 64, Epsilon = 1e-6f)] public partial Norm FinalNorm { get; }
            [LmHead(Vocab = 1003, Hidden = 64)] public partial Linear Head { get; }
        }
        """;

    private static LayerSpec Table(string name, ParallelStrategy strategy, int inFeatures, int outFeatures) =>
        new(name, strategy, inFeatures, outFeatures, false, Activation.None, WeightLayout.InOut);

    private static LayerSpec FinalNorm(NormKind kind, int hidden = 0, float epsilon = 0) =>
        Table("FinalNorm", ParallelStrategy.FinalNorm, hidden, hidden) with { Norm = kind, NormEpsilon = epsilon };

    [Fact]
    public void LlamaLeavesEverySizeOpen() => AssertLayers(Llama,
        Table("Embed", ParallelStrategy.VocabEmbedding, 0, 0),
        new LayerSpec("Layers", ParallelStrategy.TransformerStack, 0, 0, false, Activation.Silu, WeightLayout.InOut)
        {
            Block = new TransformerSpec(0, 0, 0, NormKind.RmsNorm, true, 0) { Layers = 0, Mlp = MlpKind.Gated, Rotary = true, RopeTheta = 0 },
        },
        FinalNorm(NormKind.RmsNorm),
        Table("Head", ParallelStrategy.LmHead, 0, 0));

    [Fact]
    public void Gpt2HasPositionsLayerNormAndBiases() => AssertLayers(Gpt2,
        Table("Embed", ParallelStrategy.VocabEmbedding, 0, 0),
        Table("Positions", ParallelStrategy.PositionEmbedding, 0, 0),
        new LayerSpec("Layers", ParallelStrategy.TransformerStack, 0, 0, true, Activation.GeluTanh, WeightLayout.InOut)
        {
            Block = new TransformerSpec(0, 0, 0, NormKind.LayerNorm, true, 0) { Layers = 0, Mlp = MlpKind.Plain, Rotary = false },
        },
        FinalNorm(NormKind.LayerNorm),
        Table("Head", ParallelStrategy.LmHead, 0, 0));

    [Fact]
    public void PinnedSizesArriveWhereTheContractSays() => AssertLayers(Pinned,
        Table("Embed", ParallelStrategy.VocabEmbedding, 1003, 64),
        new LayerSpec("Layers", ParallelStrategy.TransformerStack, 64, 64, false, Activation.Silu, WeightLayout.InOut)
        {
            Block = new TransformerSpec(4, 2, 176, NormKind.RmsNorm, true, 1e-6f) { Layers = 2, Mlp = MlpKind.Gated, Rotary = true, RopeTheta = 500000f },
        },
        FinalNorm(NormKind.RmsNorm, 64, 1e-6f),
        Table("Head", ParallelStrategy.LmHead, 64, 1003));

    [Fact]
    public void OpenSizesAreOpenAndPinnedOnesAreNot()
    {
        Assert.All(Read(Llama, syntactic: true), l => Assert.True(l.IsOpen, l.Name));
        Assert.All(Read(Pinned, syntactic: true), l => Assert.False(l.IsOpen, l.Name));
    }

    [Fact]
    public void SomeSizesPinnedSomeOpenOnAFixedDeviceCountGeneratesCleanly()
    {
        // Heads written, KV heads left to config.json, on 2 devices: the plan's words must not need the open size.
        var output = GeneratorHarness.Run(Llama
            .Replace("[ShardedModel]", "[ShardedModel(Devices = 2)]")
            .Replace("Rotary = true)]", "Rotary = true, Hidden = 64, Heads = 4)]"));
        Assert.Empty(output.AllDiagnostics);
        output.AssertCompilesCleanly();
    }

    [Fact]
    public void AnArgumentTheCompilerCannotBindGeneratesNothing()
    {
        // KvHeads = 1e-6f is the compiler's CS0266, and Roslyn leaves the argument out of the attribute's data: the
        // model must not be generated as if KvHeads were left open.
        var output = GeneratorHarness.Run(Llama.Replace("Rotary = true)]", "Rotary = true, Heads = 4, KvHeads = 1e-6f)]"));
        Assert.Empty(output.Sources);
        Assert.Empty(output.AllDiagnostics);
    }

    /// <summary>Both readers give exactly <paramref name="expected"/>, in declaration order, with no diagnostic.</summary>
    private static void AssertLayers(string source, params LayerSpec[] expected)
    {
        Assert.Equal(expected, Read(source, syntactic: true));
        Assert.Equal(expected, Read(source, syntactic: false));
        var output = GeneratorHarness.Run(source); // and the generator as a whole: the two paths agree, nothing reported
        Assert.Empty(output.AllDiagnostics);
    }

    private static LayerSpec[] Read(string source, bool syntactic)
    {
        var compilation = GeneratorHarness.CreateCompilation(("Model.cs", source));
        var tree = compilation.SyntaxTrees.Single();
        var node = tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().Single();
        var result = syntactic
            ? SyntacticModelReader.Read(node, CancellationToken.None)!.Syntactic!.Result
            : ModelParser.ParseAt(tree.FilePath, node.Span, compilation, CancellationToken.None);
        Assert.Empty(result.Diagnostics);
        return result.Model!.Layers.Select(l => l.Spec).ToArray();
    }
}
