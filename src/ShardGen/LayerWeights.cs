using ShardGen.Planning;

namespace ShardGen;

/// <summary>The full, unsharded parameters of one layer: <see cref="LinearWeights"/> or <see cref="TransformerBlockWeights"/>.</summary>
public abstract class LayerWeights
{
    private protected LayerWeights() { }

    /// <summary>
    /// Checks <paramref name="weights"/> against <paramref name="layer"/>; null when they fit, else a message naming
    /// the layer, the expected and actual shapes and the fix.
    /// </summary>
    public static string? Check(LayerSpec layer, LayerWeights? weights) => layer.Strategy switch
    {
        ParallelStrategy.TransformerBlock => weights is null or TransformerBlockWeights
            ? TransformerBlockWeights.Check(layer, (TransformerBlockWeights?)weights)
            : $"Layer '{layer.Name}' is a transformer block: pass TransformerBlockWeights, not {weights.GetType().Name}.",
        _ => weights is null or LinearWeights
            ? LinearWeights.Check(layer, (LinearWeights?)weights)
            : $"Layer '{layer.Name}' is {layer.StrategyText}: pass LinearWeights, not {weights.GetType().Name}.",
    };
}
