namespace ShardGen.Planning;

/// <summary>
/// The shape of a pre-norm transformer block: <c>x + Attn(Norm(x))</c>, then <c>h + Mlp(Norm(h))</c>.
/// The hidden width is the layer's In/Out features; each head is hidden / <see cref="Heads"/> wide.
/// <see cref="KvHeads"/> below <see cref="Heads"/> is grouped-query attention.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
sealed record TransformerSpec(int Heads, int KvHeads, int FfnHidden, NormKind Norm, bool Causal, float Epsilon)
{
    // Sizes of 0 (Heads, KvHeads, FfnHidden, Epsilon, Layers, RopeTheta) are "read from config.json at load"; only a
    // TransformerStack leaves them open, and the runtime fills them in before planning.

    /// <summary>Blocks in a <see cref="ParallelStrategy.TransformerStack"/> (0: from config.json); 1 for a single block.</summary>
    public int Layers { get; init; } = 1;

    /// <summary>Plain or gated (SwiGLU) MLP.</summary>
    public MlpKind Mlp { get; init; } = MlpKind.Plain;

    /// <summary>Rotary position embeddings on q and k (Hugging Face LLaMA's rotate_half convention).</summary>
    public bool Rotary { get; init; }

    /// <summary>RoPE base θ: frequencies θ^(−2i/headDim) (0: from config.json, rope_theta, default 10000).</summary>
    public float RopeTheta { get; init; }

    /// <summary>Biases on the q, k and v projections only (Qwen2), when the layer has no other biases.</summary>
    public bool QkvBias { get; init; }

    /// <summary>Mistral's sliding window W (config.json's sliding_window; 0: none): query i sees keys i − W &lt; j ≤ i.</summary>
    public int SlidingWindow { get; init; }

    /// <summary>Each block's window where the blocks of a stack differ (null: <see cref="SlidingWindow"/> on every block).</summary>
    public LayerWindows? LayerWindows { get; init; }

    /// <summary>Block <paramref name="block"/>'s sliding window (0: full attention).</summary>
    public int WindowOf(int block) => LayerWindows is { } windows ? windows[block] : SlidingWindow;

    /// <summary>Width of one head for a block of <paramref name="hidden"/> features.</summary>
    public int HeadDim(int hidden) => Heads > 0 ? hidden / Heads : 0;

    /// <summary>
    /// Width of the fused QKV projection's output for a block of <paramref name="hidden"/> features: every query,
    /// key and value head. A long, as the generator prints it for any declared size.
    /// </summary>
    public long QkvWidth(int hidden) => (Heads + 2L * KvHeads) * HeadDim(hidden);

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => KvHeads > 0 ? Heads / KvHeads : 0;

    /// <summary>Key/value heads a device holds on <paramref name="devices"/> devices: its share, or one replicated head.</summary>
    public int LocalKvHeads(int devices) => KvHeads >= devices ? KvHeads / devices : 1;

    /// <summary>The key/value head device <paramref name="rank"/>'s first local KV head is.</summary>
    public int FirstKvHead(int rank, int devices) =>
        KvHeads >= devices ? rank * (KvHeads / devices) : rank / (devices / KvHeads);
}
