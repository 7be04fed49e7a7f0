namespace ShardGen;

/// <summary>The normalization of a transformer block (applied per token, replicated on every device).</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum NormKind
{
    /// <summary>(x − mean) / √(var + ε) · γ + β.</summary>
    LayerNorm = 0,
    /// <summary>x / √(mean(x²) + ε) · γ.</summary>
    RmsNorm = 1,
}
