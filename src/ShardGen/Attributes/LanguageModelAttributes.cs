using System;

namespace ShardGen;

// The layer kinds of a language model loaded from a Hugging Face checkpoint. Every size left at 0 is read from the
// checkpoint's config.json when the model is loaded and checked there by the same rules (and SHARD IDs) as a size
// written here, which is checked at build time.

/// <summary>
/// Token embedding [vocab, hidden] split by vocabulary rows (Megatron's VocabParallelEmbedding): device r holds a
/// contiguous range of rows (uneven when the vocabulary does not divide), looks up the ids in its range and writes
/// zeros for the others; one all-reduce (a reduce-scatter under sequence parallelism) sums them. Put it on a
/// <c>public partial Embedding Name { get; }</c> property, first in the model.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class VocabParallelEmbeddingAttribute : Attribute
{
    /// <summary>Rows of the table (0: config.json's vocab_size).</summary>
    public int Vocab { get; set; }

    /// <summary>Width of each row, the residual stream (0: config.json's hidden_size / n_embd).</summary>
    public int Hidden { get; set; }
}

/// <summary>
/// Learned absolute position embeddings [positions, hidden] (GPT-2's wpe), replicated, added to the token embedding.
/// Put it on a <c>public partial Embedding Name { get; }</c> property right after the token embedding.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class PositionEmbeddingAttribute : Attribute
{
    /// <summary>Positions the table covers (0: config.json's n_positions / max_position_embeddings).</summary>
    public int Positions { get; set; }

    /// <summary>Width of each row (0: from config.json).</summary>
    public int Hidden { get; set; }
}

/// <summary>
/// A stack of identical pre-norm transformer blocks, each split like <see cref="TransformerBlockAttribute"/>: q/k/v
/// column-parallel by whole heads, output projection row-parallel, MLP column then row; two all-reduces per block.
/// Put it on a <c>public partial TransformerStack Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class TransformerStackAttribute : Attribute
{
    /// <summary>Number of blocks (0: config.json's num_hidden_layers / n_layer).</summary>
    public int Layers { get; set; }

    /// <summary>Width of the residual stream (0: from config.json).</summary>
    public int Hidden { get; set; }

    /// <summary>Query heads (0: from config.json).</summary>
    public int Heads { get; set; }

    /// <summary>Key/value heads (0: config.json's num_key_value_heads, or Heads when it has none).</summary>
    public int KvHeads { get; set; }

    /// <summary>Hidden width of the MLP (0: config.json's intermediate_size / n_inner, or 4 × hidden).</summary>
    public int FfnHidden { get; set; }

    /// <summary>The two norms' kind. Default RMSNorm.</summary>
    public NormKind Norm { get; set; } = NormKind.RmsNorm;

    /// <summary>ε of both norms (0: config.json's rms_norm_eps / layer_norm_epsilon).</summary>
    public float NormEpsilon { get; set; }

    /// <summary>Whether a token attends only to earlier tokens of its sequence. Default true.</summary>
    public bool Causal { get; set; } = true;

    /// <summary>The MLP's activation (of the gate, for a gated MLP). Default SiLU.</summary>
    public Activation Activation { get; set; } = Activation.Silu;

    /// <summary>Plain <c>down(act(up(x)))</c> or gated <c>down(act(gate(x)) ⊙ up(x))</c>. Default gated (SwiGLU).</summary>
    public MlpKind Mlp { get; set; } = MlpKind.Gated;

    /// <summary>Rotary position embeddings on q and k. Default true.</summary>
    public bool Rotary { get; set; } = true;

    /// <summary>RoPE base θ (0: config.json's rope_theta, 10000 when absent).</summary>
    public float RopeTheta { get; set; }

    /// <summary>
    /// Whether every projection has a bias (GPT-2). Default false (LLaMA); biases on q/k/v only (Qwen2) follow
    /// config.json (model_type qwen2, or attention_bias).
    /// </summary>
    public bool Bias { get; set; }
}

/// <summary>
/// A norm of the residual stream on its own, the final norm before the head; replicated, per token.
/// Put it on a <c>public partial Norm Name { get; }</c> property.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class FinalNormAttribute : Attribute
{
    /// <param name="kind">LayerNorm or RMSNorm.</param>
    public FinalNormAttribute(NormKind kind) => Kind = kind;

    public NormKind Kind { get; }

    /// <summary>Width (0: from config.json).</summary>
    public int Hidden { get; set; }

    /// <summary>ε (0: from config.json).</summary>
    public float Epsilon { get; set; }
}

/// <summary>
/// The language-model head [hidden, vocab], column-parallel over the vocabulary: device r computes the logits of
/// the same vocabulary rows its embedding holds (uneven when the vocabulary does not divide); the host gathers them.
/// Tied to the embedding (no weight of its own) when config.json's tie_word_embeddings says so.
/// Put it on a <c>public partial Linear Name { get; }</c> property, last in the model.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class LmHeadAttribute : Attribute
{
    /// <summary>Vocabulary (0: from config.json).</summary>
    public int Vocab { get; set; }

    /// <summary>Input width (0: from config.json).</summary>
    public int Hidden { get; set; }
}
