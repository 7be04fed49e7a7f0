using ShardGen;

namespace Generate;

/// <summary>
/// The LLaMA family (LLaMA, Mistral, Qwen2): every size is read from the checkpoint's config.json at load, so this one
/// class loads a checkpoint of any size of the family; the vocabulary is split over the devices in even ranges.
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
