using System.Threading.Tasks;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests.Snapshots;

/// <summary>
/// The generated source of representative models, end to end from user code. Each output must also compile
/// against the runtime with no error and no warning. The snapshots are product output: read them.
/// </summary>
public class GeneratedSourceTests
{
    private static Task VerifyModel(string source, [System.Runtime.CompilerServices.CallerMemberName] string testMethod = "")
    {
        var output = GeneratorHarness.Run(source);
        Assert.Empty(output.Diagnostics);
        output.AssertCompilesCleanly();
        return Snapshot.Verify(output.SingleSource, extension: "cs", testMethod: testMethod);
    }

    [Fact]
    public Task ColumnThenRowMlp() => VerifyModel("""
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
        """);

    [Fact]
    public Task ColumnThenRowMlpOnFourDevices() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4)]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """);

    [Fact]
    public Task ColumnThenColumn() => VerifyModel("""
        using ShardGen;
        namespace Demo.Models;

        [ShardedModel]
        public partial class Widen
        {
            [ColumnParallel(512, 2048, Activation = Activation.Relu)]
            public partial Linear First { get; }

            // PyTorch storage: [out, in].
            [ColumnParallel(2048, 512, WeightLayout = WeightLayout.OutIn)]
            public partial Linear Second { get; }
        }
        """);

    [Fact]
    public Task RowFirst() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class RowFirst
        {
            [RowParallel(768, 768, Activation = Activation.Sigmoid)]
            public partial Linear Gate { get; }

            [ColumnParallel(768, 3072, Bias = false, Activation = Activation.Tanh)]
            public partial Linear Expand { get; }
        }
        """);

    [Fact]
    public Task ColumnRowRow() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 8)]
        internal partial class Deep
        {
            [ColumnParallel(512, 2048, Activation = Activation.GeluTanh)]
            internal partial Linear Up { get; }

            [RowParallel(2048, 1024, Activation = Activation.Relu)]
            internal partial Linear Mid { get; }

            [RowParallel(1024, 512, Bias = false, Activation = Activation.Silu, WeightLayout = WeightLayout.OutIn)]
            internal partial Linear Down { get; }
        }
        """);

    [Fact]
    public Task Summa2DInOut() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Grid
        {
            [Summa2D(1024, 4096, Activation = Activation.Gelu)]
            public partial Linear Up { get; }

            [Summa2D(4096, 1024)]
            public partial Linear Down { get; }
        }
        """);

    [Fact]
    public Task Summa2DOutIn() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4)]
        public partial class TorchGrid
        {
            [Summa2D(1024, 4096, Activation = Activation.Silu, WeightLayout = WeightLayout.OutIn)]
            public partial Linear Up { get; }
        }
        """);

    [Fact]
    public Task ColumnSummaRow() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Hybrid
        {
            [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
            public partial Linear Up { get; }

            [Summa2D(4096, 4096, Activation = Activation.Relu)]
            public partial Linear Mix { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """);

    [Fact]
    public Task RowSummaColumnOnSixteenDevices() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 16)]
        public partial class Hybrid16
        {
            [RowParallel(1024, 1024)]
            public partial Linear In { get; }

            [Summa2D(1024, 1024, WeightLayout = WeightLayout.OutIn)]
            public partial Linear Mix { get; }

            [ColumnParallel(1024, 1024)]
            public partial Linear Out { get; }
        }
        """);

    [Fact]
    public Task NestedClassWithoutNamespace() => VerifyModel("""
        using ShardGen;

        public static partial class Outer
        {
            internal partial struct Holder
            {
                [ShardedModel(Devices = 2)]
                internal sealed partial class Tiny
                {
                    [ColumnParallel(8, 16, Bias = false)]
                    internal partial Linear @out { get; }
                }
            }
        }
        """);

    [Fact]
    public Task OneBlock() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8)]
            public partial TransformerBlock Block0 { get; }
        }
        """);

    [Fact]
    public Task TwoBlocksAndHead() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Gpt
        {
            [TransformerBlock(512, 8)]
            public partial TransformerBlock Block0 { get; }

            // Grouped-query attention, symbolic: the KV heads replicate once P > 4.
            [TransformerBlock(512, 8, KvHeads = 4, FfnHidden = 1536, Causal = false)]
            public partial TransformerBlock Block1 { get; }

            [ColumnParallel(512, 1024, Bias = false)]
            public partial Linear Head { get; }
        }
        """);

    [Fact]
    public Task GroupedQueryOnFourDevices() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4)]
        public partial class Llama
        {
            [TransformerBlock(512, 8, KvHeads = 2, FfnHidden = 1408, Norm = NormKind.RmsNorm, Activation = Activation.Silu, Bias = false, NormEpsilon = 1e-6f)]
            public partial TransformerBlock Layer0 { get; }
        }
        """);

    [Fact]
    public Task MultiQuery() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Falcon
        {
            [TransformerBlock(256, 4, KvHeads = 1, NormEpsilon = 0.001f)]
            public partial TransformerBlock Block0 { get; }
        }
        """);

    [Fact]
    public Task MultiQueryOnFourDevices() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4)]
        public partial class Falcon
        {
            [TransformerBlock(256, 4, KvHeads = 1)]
            public partial TransformerBlock Block0 { get; }
        }
        """);

    [Fact]
    public Task SequenceParallelTwoBlocks() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(SequenceParallel = true)]
        public partial class Gpt
        {
            [TransformerBlock(512, 8)]
            public partial TransformerBlock Block0 { get; }

            [TransformerBlock(512, 8)]
            public partial TransformerBlock Block1 { get; }
        }
        """);

    [Fact]
    public Task SequenceParallelWithLinearsOnFourDevices() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4, SequenceParallel = true)]
        public partial class Hybrid
        {
            [ColumnParallel(256, 512)]
            public partial Linear Embed { get; }

            [TransformerBlock(512, 8, KvHeads = 2)]
            public partial TransformerBlock Block0 { get; }

            [ColumnParallel(512, 1024, Bias = false)]
            public partial Linear Head { get; }
        }
        """);

    /// <summary>The README's LLaMA-family class: every size open (config.json at load), the stack as a loop over its blocks.</summary>
    [Fact]
    public Task LlamaFamily() => VerifyModel(LanguageModelParsingTests.Llama);

    /// <summary>The README's GPT-2-family class: learned positions added in place, LayerNorm, biases, plain MLP.</summary>
    [Fact]
    public Task Gpt2Family() => VerifyModel(LanguageModelParsingTests.Gpt2);

    /// <summary>Every size pinned on 2 devices, sequence parallel: concrete shard shapes and bytes, uneven vocabulary ranges.</summary>
    [Fact]
    public Task PinnedLlamaSequenceParallelOnTwoDevices() => VerifyModel("""
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 2, SequenceParallel = true)]
        public partial class TinyLlama
        {
            [VocabParallelEmbedding(Vocab = 1003, Hidden = 64)] public partial Embedding Embed { get; }
            [TransformerStack(Layers = 2, Hidden = 64, Heads = 4, KvHeads = 1, FfnHidden = 176, NormEpsilon = 1e-6f, RopeTheta = 500000f)]
            public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.RmsNorm, Hidden = 64, Epsilon = 1e-6f)] public partial Norm FinalNorm { get; }
            [LmHead(Vocab = 1003, Hidden = 64)] public partial Linear Head { get; }
        }
        """);
}
