using System;

namespace ShardGen;

/// <summary>
/// A model's full weights, read a slice at a time: what sharding on load reads from. A checkpoint implements it over
/// its memory-mapped files (mapping Hugging Face names and layouts to these logical tensors), so each device reads only
/// its own slice and no process holds the whole model; host arrays implement it for tests and demos.
/// </summary>
public interface IWeightSource
{
    /// <summary>
    /// The logical shape of <paramref name="key"/>: matrices as [in, out] (the embedding tables as [rows, hidden]),
    /// vectors as [1, n]; null when the source has no such tensor (an optional bias, a tied head).
    /// </summary>
    (int Rows, int Cols)? Shape(WeightKey key);

    /// <summary>The tensor's name in the source (e.g. <c>model.layers.3.self_attn.q_proj.weight</c>), for messages.</summary>
    string Name(WeightKey key);

    /// <summary>
    /// Reads rows [<paramref name="row0"/>, +<paramref name="rows"/>) × columns [<paramref name="col0"/>, +<paramref name="cols"/>)
    /// of the logical tensor, converted to float32, into <paramref name="destination"/> (row-major, rows × cols).
    /// </summary>
    void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination);
}

/// <summary>One logical tensor of a model: a layer (its index in forward order), a block of a stack (or −1) and a role.</summary>
public readonly record struct WeightKey(int Layer, int Block, WeightRole Role)
{
    public override string ToString() => Block >= 0 ? $"layer {Layer} block {Block} {Role}" : $"layer {Layer} {Role}";
}

/// <summary>What a logical tensor is, in a language model's layers. Matrices are [in, out].</summary>
public enum WeightRole
{
    /// <summary>Token embedding [vocab, hidden].</summary>
    TokenEmbedding,
    /// <summary>Learned position embedding [positions, hidden].</summary>
    PositionEmbedding,
    AttentionNormScale,
    AttentionNormShift,
    /// <summary>[hidden, heads·headDim].</summary>
    Query,
    /// <summary>[hidden, kvHeads·headDim].</summary>
    Key,
    /// <summary>[hidden, kvHeads·headDim].</summary>
    Value,
    QueryBias,
    KeyBias,
    ValueBias,
    /// <summary>[heads·headDim, hidden].</summary>
    AttentionOutput,
    AttentionOutputBias,
    MlpNormScale,
    MlpNormShift,
    /// <summary>Gated MLP's gate [hidden, ffn].</summary>
    MlpGate,
    MlpGateBias,
    /// <summary>[hidden, ffn].</summary>
    MlpUp,
    MlpUpBias,
    /// <summary>[ffn, hidden].</summary>
    MlpDown,
    MlpDownBias,
    FinalNormScale,
    FinalNormShift,
    /// <summary>LM head [hidden, vocab]; absent when tied to the token embedding.</summary>
    Head,
    HeadBias,
    /// <summary>A float model's linear layer weight, in its declared layout ([in, out] or [out, in]).</summary>
    LinearWeight,
    /// <summary>A float model's linear layer bias [1, out].</summary>
    LinearBias,
}
