namespace ShardGen;

/// <summary>Elementwise activation applied after a layer's bias.</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum Activation
{
    /// <summary>Identity.</summary>
    None = 0,
    /// <summary>max(0, x).</summary>
    Relu = 1,
    /// <summary>x·Φ(x), the exact (erf) form.</summary>
    Gelu = 2,
    /// <summary>The tanh approximation of GELU.</summary>
    GeluTanh = 3,
    /// <summary>x·σ(x).</summary>
    Silu = 4,
    /// <summary>tanh(x).</summary>
    Tanh = 5,
    /// <summary>1 / (1 + e^−x).</summary>
    Sigmoid = 6,
}
