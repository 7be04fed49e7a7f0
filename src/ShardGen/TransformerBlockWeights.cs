using System;
using ShardGen.Planning;

namespace ShardGen;

/// <summary>
/// The full, unsharded parameters of a transformer block, all linear weights stored [in, out]:
/// <see cref="Qkv"/> is the fused projection [hidden, (H + 2·KvHeads)·headDim] whose columns hold every query head,
/// then every key head, then every value head, each head's columns contiguous (ShardGen splits it by whole
/// heads, never by raw columns); <see cref="Out"/> is [H·headDim, hidden]; <see cref="Up"/> [hidden, ffn];
/// <see cref="Down"/> [ffn, hidden]. Norm scales are [hidden]; the shifts (LayerNorm only) too.
/// </summary>
public sealed class TransformerBlockWeights : LayerWeights
{
    public required float[] AttentionNormScale { get; init; }
    public float[]? AttentionNormShift { get; init; }
    public required LinearWeights Qkv { get; init; }
    public required LinearWeights Out { get; init; }
    public required float[] MlpNormScale { get; init; }
    public float[]? MlpNormShift { get; init; }
    public required LinearWeights Up { get; init; }
    public required LinearWeights Down { get; init; }

    /// <summary>Deterministic random parameters for <paramref name="layer"/> (norm scales near 1), for demos and tests.</summary>
    public static TransformerBlockWeights Random(LayerSpec layer, int seed, int stream)
    {
        var b = layer.Block ?? throw new ArgumentException($"Layer '{layer.Name}' is not a transformer block.", nameof(layer));
        var rng = new Random(unchecked(seed * 7919 + stream * 104729 + 31));
        int d = layer.InFeatures, dh = b.HeadDim(d);
        bool shift = b.Norm == NormKind.LayerNorm;
        float[] Vector(float center, float spread)
        {
            var v = new float[d];
            for (int i = 0; i < d; i++) v[i] = center + (float)(rng.NextDouble() * 2 - 1) * spread;
            return v;
        }
        return new TransformerBlockWeights
        {
            AttentionNormScale = Vector(1, 0.2f),
            AttentionNormShift = shift ? Vector(0, 0.2f) : null,
            Qkv = LinearWeights.Random(d, (int)b.QkvWidth(d), layer.HasBias, WeightLayout.InOut, rng),
            Out = LinearWeights.Random(b.Heads * dh, d, layer.HasBias, WeightLayout.InOut, rng),
            MlpNormScale = Vector(1, 0.2f),
            MlpNormShift = shift ? Vector(0, 0.2f) : null,
            Up = LinearWeights.Random(d, b.FfnHidden, layer.HasBias, WeightLayout.InOut, rng),
            Down = LinearWeights.Random(b.FfnHidden, d, layer.HasBias, WeightLayout.InOut, rng),
        };
    }

    /// <summary>Null when the weights fit the block, else a message naming the block, the part, both shapes and the fix.</summary>
    public static string? Check(LayerSpec layer, TransformerBlockWeights? w)
    {
        var b = layer.Block!;
        if (w is null)
            return $"Block '{layer.Name}' has no weights: set Weights.{layer.Name} = new TransformerBlockWeights {{ … }}.";
        int d = layer.InFeatures, dh = b.HeadDim(d);
        bool shift = b.Norm == NormKind.LayerNorm;
        return Vector(layer, "AttentionNormScale", w.AttentionNormScale, d)
            ?? Shift(layer, "AttentionNormShift", w.AttentionNormShift, d, shift)
            ?? Part(layer, "Qkv", w.Qkv, d, (int)b.QkvWidth(d), $" (query, key and value heads: ({b.Heads} + 2·{b.KvHeads})·{dh})")
            ?? Part(layer, "Out", w.Out, b.Heads * dh, d, "")
            ?? Vector(layer, "MlpNormScale", w.MlpNormScale, d)
            ?? Shift(layer, "MlpNormShift", w.MlpNormShift, d, shift)
            ?? Part(layer, "Up", w.Up, d, b.FfnHidden, "")
            ?? Part(layer, "Down", w.Down, b.FfnHidden, d, "");
    }

    private static string? Part(LayerSpec block, string part, LinearWeights? w, int inFeatures, int outFeatures, string note)
    {
        var spec = new LayerSpec($"{block.Name}.{part}", ParallelStrategy.ColumnParallel, inFeatures, outFeatures, block.HasBias, Activation.None, WeightLayout.InOut);
        string? problem = LinearWeights.Check(spec, w);
        return problem is null ? null : problem + note;
    }

    private static string? Vector(LayerSpec block, string part, float[]? v, int length) =>
        v is null ? $"Block '{block.Name}' needs {part}: a float[{length}]."
        : v.Length != length ? $"Block '{block.Name}' expects {part} of length {length} (its hidden size) but got {v.Length}."
        : null;

    private static string? Shift(LayerSpec block, string part, float[]? v, int length, bool wanted) =>
        wanted ? Vector(block, part, v, length)
        : v is null ? null
        : $"Block '{block.Name}' uses RmsNorm, which has no shift, but {part} was given: pass null, or declare Norm = NormKind.LayerNorm.";
}
