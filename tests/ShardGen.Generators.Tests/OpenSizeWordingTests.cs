using System.Linq;
using System.Text.RegularExpressions;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests;

/// <summary>
/// Sizes a language model leaves to config.json are 0 in its LayerSpecs; the generated comments name them (hidden,
/// vocab, heads, head dim, ffn, ε and θ from config.json) instead of printing "[T, 0]", "ε = 0" or "0 heads × 0".
/// </summary>
public class OpenSizeWordingTests
{
    private const string SomePinnedOnTwoDevices = """
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 2, SequenceParallel = true)]
        public partial class HalfOpen
        {
            [VocabParallelEmbedding(Hidden = 64)] public partial Embedding Embed { get; }
            [TransformerStack(Hidden = 64, Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
            public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm, Hidden = 64)] public partial Norm FinalNorm { get; }
            [LmHead(Hidden = 64)] public partial Linear Head { get; }
        }
        """;

    /// <summary>What a size of 0 looks like in words: a 0 inside a shape, a formula, a count or a setting.</summary>
    private static readonly Regex Zero = new(@"\[T, 0\]|\[0, (?!Vocab\))|, 0\]|T·0·|ε = 0\b|θ = 0\b|\b0 heads|× 0\b|√0|\b0/P|\(0/|·0\b|\bhidden 0\b|MLP 0\b|⌈0/|⌊0/");

    [Theory]
    [InlineData(LanguageModelParsingTests.Llama, "RMSNorm, ε from config.json")]
    [InlineData(LanguageModelParsingTests.Gpt2, "LayerNorm, ε from config.json")]
    [InlineData(SomePinnedOnTwoDevices, "RMSNorm, ε from config.json")]
    public void CommentsNameTheSizesFromConfigJson(string source, string norm)
    {
        var output = GeneratorHarness.Run(source);
        output.AssertCompilesCleanly();
        var comments = output.SingleSource.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("//")).ToList();
        var zeros = comments.Where(l => Zero.IsMatch(l)).ToList();
        Assert.True(zeros.Count == 0, "comments print 0 for sizes from config.json:\n" + string.Join("\n", zeros));
        Assert.Contains(comments, l => l.Contains(norm));
        Assert.Contains(comments, l => l.Contains("[T, hidden]") || l.Contains("[T, 64]"));
        Assert.Contains(comments, l => l.Contains("⌈vocab/"));
        Assert.Contains(comments, l => l.Contains("ffn/"));
    }

    [Fact]
    public void PinnedSizesStayNumbers()
    {
        var comments = GeneratorHarness.Run(LanguageModelParsingTests.Pinned).SingleSource.Split('\n').Where(l => l.TrimStart().StartsWith("//")).ToList();
        Assert.DoesNotContain(comments, l => Regex.IsMatch(l, @"\b(vocab|ffn|head dim)/|from config\.json|\[T, hidden\]"));
    }
}
