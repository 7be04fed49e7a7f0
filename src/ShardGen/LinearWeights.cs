using System;
using ShardGen.Planning;

namespace ShardGen;

/// <summary>
/// The full, unsharded weights of one linear layer, in the layer's declared <see cref="WeightLayout"/>:
/// [in, out] by default, [out, in] for <see cref="WeightLayout.OutIn"/>. <see cref="Bias"/> is [out] or null.
/// </summary>
public sealed class LinearWeights : LayerWeights
{
    public LinearWeights(float[,] weight, float[]? bias)
    {
        Weight = weight ?? throw new ArgumentNullException(nameof(weight));
        Bias = bias;
    }

    public float[,] Weight { get; }

    public float[]? Bias { get; }

    /// <summary>
    /// Deterministic random weights for <paramref name="layer"/>: uniform in ±1/√in (PyTorch's default
    /// scale), from a generator seeded by (<paramref name="seed"/>, <paramref name="stream"/>).
    /// </summary>
    public static LinearWeights Random(LayerSpec layer, int seed, int stream) =>
        Random(layer.InFeatures, layer.OutFeatures, layer.HasBias, layer.WeightLayout, new Random(unchecked(seed * 7919 + stream * 104729 + 17)));

    /// <summary>Uniform ±1/√in weights of the given shape from <paramref name="rng"/>.</summary>
    internal static LinearWeights Random(int inFeatures, int outFeatures, bool hasBias, WeightLayout layout, Random rng)
    {
        float scale = 1f / MathF.Sqrt(inFeatures);
        var w = layout == WeightLayout.InOut
            ? new float[inFeatures, outFeatures]
            : new float[outFeatures, inFeatures];
        for (int r = 0; r < w.GetLength(0); r++)
            for (int c = 0; c < w.GetLength(1); c++)
                w[r, c] = (float)(rng.NextDouble() * 2 - 1) * scale;
        float[]? b = null;
        if (hasBias)
        {
            b = new float[outFeatures];
            for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        }
        return new LinearWeights(w, b);
    }

    /// <summary>
    /// Checks these weights against <paramref name="layer"/>; returns null when they fit, else a message
    /// naming the layer, the expected and actual shapes and the fix.
    /// </summary>
    public static string? Check(LayerSpec layer, LinearWeights? weights)
    {
        string shape = layer.WeightShapeText;
        if (weights is null)
            return $"Layer '{layer.Name}' has no weights: set Weights.{layer.Name} = new LinearWeights(weight {shape}, bias).";
        int rows = weights.Weight.GetLength(0), cols = weights.Weight.GetLength(1);
        int wantRows = layer.WeightLayout == WeightLayout.InOut ? layer.InFeatures : layer.OutFeatures;
        int wantCols = layer.WeightLayout == WeightLayout.InOut ? layer.OutFeatures : layer.InFeatures;
        if (rows != wantRows || cols != wantCols)
        {
            string hint = rows == wantCols && cols == wantRows
                ? layer.WeightLayout == WeightLayout.InOut
                    ? " It looks transposed: if your checkpoint stores [out, in] (PyTorch), declare WeightLayout = WeightLayout.OutIn."
                    : " It looks transposed: if your weight is stored [in, out], declare WeightLayout = WeightLayout.InOut."
                : "";
            return $"Layer '{layer.Name}' expects weight {shape} but got [{rows}, {cols}].{hint}";
        }
        if (layer.HasBias && weights.Bias is null)
            return $"Layer '{layer.Name}' has a bias (Bias = true) but none was given: pass a float[{layer.OutFeatures}], or declare Bias = false.";
        if (!layer.HasBias && weights.Bias is not null)
            return $"Layer '{layer.Name}' is declared with Bias = false but a bias of length {weights.Bias.Length} was given: pass null, or declare Bias = true.";
        if (weights.Bias is not null && weights.Bias.Length != layer.OutFeatures)
            return $"Layer '{layer.Name}' expects a bias of length {layer.OutFeatures} (its output features) but got {weights.Bias.Length}.";
        return null;
    }
}
