namespace ShardGen;

/// <summary>The MLP of a transformer block.</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum MlpKind
{
    /// <summary><c>down(act(up(x)))</c>: GPT-2, BERT.</summary>
    Plain = 0,
    /// <summary><c>down(act(gate(x)) ⊙ up(x))</c>, SwiGLU with SiLU: LLaMA, Mistral, Qwen2. Gate and up are fused column-parallel.</summary>
    Gated = 1,
}
