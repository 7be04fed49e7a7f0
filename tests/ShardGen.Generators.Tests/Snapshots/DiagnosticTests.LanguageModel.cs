using System.Threading.Tasks;

namespace ShardGen.Generators.Tests.Snapshots;

/// <summary>
/// The diagnostics of language models (SHARD024–027) and the older ones on the language-model attributes: wrong property
/// types, two kinds on one property, undefined enum values, negative sizes, widths and vocabularies that contradict each
/// other, stack shapes and head splits checked on the sizes that are set (the others are read from config.json at load).
/// </summary>
public partial class DiagnosticTests
{
    [Fact]
    public Task SHARD003_EmbeddingAttributeOnLinearProperty() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Linear Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD003", "Embed");

    [Fact]
    public Task SHARD003_StackOfBlockType() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerBlock Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD003", "Layers");

    [Fact]
    public Task SHARD003_LmHeadOnNormProperty() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Norm Head { get; }
        }
        """, "SHARD003", "Head");

    [Fact]
    public Task SHARD005_EmbeddingAndLmHead() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding]
            [LmHead]
            public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD005", "LmHead");

    [Fact]
    public Task SHARD006_NegativeVocab() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding(Vocab = -32000)] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD006", "VocabParallelEmbedding(Vocab = -32000)");

    [Fact]
    public Task SHARD006_NegativeFinalNormEpsilon() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm, Epsilon = -1e-5f)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD006", "FinalNorm(NormKind.RmsNorm, Epsilon = -1e-5f)");

    [Fact]
    public Task SHARD007_NormWidthDiffersFromEmbedding() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding(Hidden = 768)] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm, Hidden = 1024)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD007", "FinalNorm(NormKind.RmsNorm, Hidden = 1024)");

    [Fact]
    public Task SHARD007_PositionWidthDiffersFromEmbedding() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt2
        {
            [VocabParallelEmbedding(Hidden = 768)] public partial Embedding Embed { get; }
            [PositionEmbedding(Positions = 1024, Hidden = 1024)] public partial Embedding Positions { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD007", "PositionEmbedding(Positions = 1024, Hidden = 1024)");

    [Fact]
    public Task SHARD007_HeadVocabDiffersFromEmbedding() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding(Vocab = 32000)] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead(Vocab = 32001)] public partial Linear Head { get; }
        }
        """, "SHARD007", "LmHead(Vocab = 32001)");

    [Fact]
    public Task SHARD016_UndefinedMlpKind() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Mlp = (MlpKind)2)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD016", "TransformerStack(Mlp = (MlpKind)2)");

    [Fact]
    public Task SHARD016_UndefinedFinalNormKind() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm((NormKind)7)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD016", "FinalNorm((NormKind)7)");

    [Fact]
    public Task SHARD017_StackHeadsDoNotDivideHidden() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Hidden = 512, Heads = 6)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD017", "TransformerStack(Hidden = 512, Heads = 6)");

    [Fact]
    public Task SHARD017_StackKvHeadsDoNotDivideHeadsWithHiddenOpen() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Heads = 8, KvHeads = 3)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD017", "TransformerStack(Heads = 8, KvHeads = 3)");

    [Fact]
    public Task SHARD017_StackOddRotaryHeadWidth() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Hidden = 40, Heads = 8, Rotary = true)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD017", "TransformerStack(Hidden = 40, Heads = 8, Rotary = true)");

    [Fact]
    public Task SHARD017_StackNegativeLayers() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Layers = -2)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD017", "TransformerStack(Layers = -2)");

    [Fact]
    public Task SHARD017_StackNegativeEpsilon() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(NormEpsilon = -1e-6f)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD017", "TransformerStack(NormEpsilon = -1e-6f)");

    [Fact]
    public Task SHARD018_StackHeadsNotDivisibleByDevicesWithHiddenOpen() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 3)]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Heads = 32, KvHeads = 8)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD018", "TransformerStack(Heads = 32, KvHeads = 8)");

    [Fact]
    public Task SHARD024_HeadNotLast() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [LmHead] public partial Linear Head { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
        }
        """, "SHARD024", "FinalNorm(NormKind.RmsNorm)");

    [Fact]
    public Task SHARD024_PositionsBeforeTokenEmbedding() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt2
        {
            [PositionEmbedding] public partial Embedding Positions { get; }
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD024", "VocabParallelEmbedding");

    [Fact]
    public Task SHARD024_TwoStacks() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [TransformerStack] public partial TransformerStack MoreLayers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD024", "TransformerStack");

    [Fact]
    public Task SHARD025_StackWithoutEmbedding() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD025", "TransformerStack");

    [Fact]
    public Task SHARD025_EmbeddingWithoutHead() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
        }
        """, "SHARD025", "VocabParallelEmbedding");

    [Fact]
    public Task SHARD026_ColumnParallelInLanguageModel() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [ColumnParallel(4096, 4096)] public partial Linear Extra { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD026", "ColumnParallel(4096, 4096)");

    [Fact]
    public Task SHARD027_RopeThetaWithoutRotary() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt2
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [PositionEmbedding] public partial Embedding Positions { get; }
            [TransformerStack(Norm = NormKind.LayerNorm, Mlp = MlpKind.Plain, Activation = Activation.GeluTanh, Rotary = false, RopeTheta = 10000f)]
            public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.LayerNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD027", "TransformerStack(Norm = NormKind.LayerNorm, Mlp = MlpKind.Plain, Activation = Activation.GeluTanh, Rotary = false, RopeTheta = 10000f)", expectSource: true);

    [Fact]
    public Task SHARD004_FinalNormOutsideModel() => Verify("""
        using ShardGen;
        namespace Demo;

        public class Plain
        {
            [FinalNorm(NormKind.RmsNorm)]
            public Norm? FinalNorm { get; }
        }
        """, "SHARD004", "FinalNorm(NormKind.RmsNorm)");

    [Fact]
    public Task SHARD020_PartialStackWithoutModel() => Verify("""
        using ShardGen;
        namespace Demo;

        public partial class Llama
        {
            [TransformerStack]
            public partial TransformerStack Layers { get; }
        }
        """, "SHARD020", "Layers");

    [Fact]
    public Task SHARD008_StackFfnNotDivisibleByDevices() => Verify("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4)]
        public partial class Llama
        {
            [VocabParallelEmbedding] public partial Embedding Embed { get; }
            [TransformerStack(Heads = 32, KvHeads = 8, FfnHidden = 11010)] public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            [LmHead] public partial Linear Head { get; }
        }
        """, "SHARD008", "TransformerStack(Heads = 32, KvHeads = 8, FfnHidden = 11010)");
}
