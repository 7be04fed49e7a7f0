using ShardGen;

namespace ShardGen.Benchmarks.Models;

/// <summary>The LLaMA family, every size from config.json (the `decode` suite loads the 492 M-parameter checkpoint).</summary>
[ShardedModel]
public partial class Llama
{
    [VocabParallelEmbedding] public partial Embedding Embed { get; }

    [TransformerStack(Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
    public partial TransformerStack Layers { get; }

    [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }

    [LmHead] public partial Linear Head { get; }
}
