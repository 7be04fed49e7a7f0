using ShardGen;

namespace Train;

/// <summary>
/// The LLaMA family (LLaMA, Mistral, Qwen2): every size from the checkpoint's config.json at load; the generator also
/// writes its ForwardBackward, so the same class trains.
/// </summary>
[ShardedModel]
public partial class Llama
{
    [VocabParallelEmbedding] public partial Embedding Embed { get; }

    [TransformerStack(Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
    public partial TransformerStack Layers { get; }

    [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }

    [LmHead] public partial Linear Head { get; }
}
