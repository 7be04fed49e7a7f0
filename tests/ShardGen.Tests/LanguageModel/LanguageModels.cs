namespace ShardGen.Tests.LanguageModel;

// Small members of the two families with every size pinned, so Create takes host weights. Vocabulary 1003 divides
// no device count above 1.

/// <summary>LLaMA family: RMSNorm, gated SiLU MLP, rotary positions; 12 heads share 2 KV heads (replicated on 4 devices).</summary>
[ShardedModel]
public partial class TinyLlama
{
    [VocabParallelEmbedding(Vocab = 1003, Hidden = 48)] public partial Embedding Embed { get; }
    [TransformerStack(Layers = 2, Hidden = 48, Heads = 12, KvHeads = 2, FfnHidden = 96, NormEpsilon = 1e-5f, RopeTheta = 10000f,
        Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
    public partial TransformerStack Layers { get; }
    [FinalNorm(NormKind.RmsNorm, Hidden = 48, Epsilon = 1e-5f)] public partial Norm FinalNorm { get; }
    [LmHead(Vocab = 1003, Hidden = 48)] public partial Linear Head { get; }
}

/// <summary>The same LLaMA with its residual stream sharded by tokens between the blocks' tensor-parallel regions.</summary>
[ShardedModel(SequenceParallel = true)]
public partial class TinyLlamaSequenceParallel
{
    [VocabParallelEmbedding(Vocab = 1003, Hidden = 48)] public partial Embedding Embed { get; }
    [TransformerStack(Layers = 2, Hidden = 48, Heads = 12, KvHeads = 2, FfnHidden = 96, NormEpsilon = 1e-5f, RopeTheta = 10000f,
        Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
    public partial TransformerStack Layers { get; }
    [FinalNorm(NormKind.RmsNorm, Hidden = 48, Epsilon = 1e-5f)] public partial Norm FinalNorm { get; }
    [LmHead(Vocab = 1003, Hidden = 48)] public partial Linear Head { get; }
}

/// <summary>GPT-2 family: learned positions, LayerNorm, plain GELU (tanh) MLP, biases everywhere.</summary>
[ShardedModel]
public partial class TinyGpt2
{
    [VocabParallelEmbedding(Vocab = 1003, Hidden = 48)] public partial Embedding Embed { get; }
    [PositionEmbedding(Positions = 64, Hidden = 48)] public partial Embedding Positions { get; }
    [TransformerStack(Layers = 2, Hidden = 48, Heads = 12, KvHeads = 12, FfnHidden = 192, NormEpsilon = 1e-5f,
        Norm = NormKind.LayerNorm, Mlp = MlpKind.Plain, Activation = Activation.GeluTanh, Rotary = false, Bias = true)]
    public partial TransformerStack Layers { get; }
    [FinalNorm(NormKind.LayerNorm, Hidden = 48, Epsilon = 1e-5f)] public partial Norm FinalNorm { get; }
    [LmHead(Vocab = 1003, Hidden = 48)] public partial Linear Head { get; }
}

/// <summary>The README's LLaMA-family class (LLaMA, Mistral, Qwen2): every size from config.json at load.</summary>
[ShardedModel]
public partial class Llama
{
    [VocabParallelEmbedding] public partial Embedding Embed { get; }
    [TransformerStack(Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
    public partial TransformerStack Layers { get; }
    [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
    [LmHead] public partial Linear Head { get; }
}

/// <summary>The README's GPT-2-family class.</summary>
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
