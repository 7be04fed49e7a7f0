namespace ShardGen.Checkpoints;

/// <summary>The checkpoint layouts ShardGen loads, each read by one declared model class (see docs/checkpoints.md).</summary>
public enum ModelFamily
{
    /// <summary>LLaMA, Mistral and Qwen2: RMSNorm, rotary positions, gated (SwiGLU) MLP, [out, in] weights.</summary>
    Llama,
    /// <summary>GPT-2: LayerNorm, learned positions, plain MLP with GELU (tanh), Conv1D [in, out] weights, biases.</summary>
    Gpt2,
}
