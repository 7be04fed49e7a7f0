using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;

namespace ShardGen.Checkpoints;

/// <summary>
/// Fills the sizes a model class leaves open (0 in its attributes) from a checkpoint's config.json, and checks the
/// pinned ones and the declared architecture against it: a model class of one family (see docs/checkpoints.md) loads
/// checkpoints of any size of that family, and a mismatch is an error naming the layer, the attribute property, both
/// values and the fix.
/// </summary>
public static class ConfigResolver
{
    /// <summary>The declared layers with every size taken from (and every pinned size checked against) <paramref name="config"/>.</summary>
    public static IReadOnlyList<LayerSpec> Resolve(IReadOnlyList<LayerSpec> declared, CheckpointConfig config)
    {
        var layers = LanguageModelLayers.Of(declared);
        if (config.Family == ModelFamily.Gpt2 && layers.Positions < 0)
            throw new ShardingException($"{config.Path} is a gpt2 checkpoint, which has learned position embeddings (transformer.wpe), but the model declares no [PositionEmbedding] layer: load it with a GPT-2 model class (docs/checkpoints.md).");
        if (config.Family == ModelFamily.Llama && layers.Positions >= 0)
            throw new ShardingException($"{config.Path} is a {config.ModelType} checkpoint, which has rotary positions and no position table, but the model declares [PositionEmbedding] '{declared[layers.Positions].Name}': load it with a LLaMA model class (docs/checkpoints.md).");
        return declared.Select(layer => ResolveLayer(layer, config)).ToList();
    }

    private static LayerSpec ResolveLayer(LayerSpec layer, CheckpointConfig c) => layer.Strategy switch
    {
        ParallelStrategy.VocabEmbedding => layer with
        {
            InFeatures = new Pin(layer, c, "VocabParallelEmbedding").Size("Vocab", layer.InFeatures, c.Vocab, nameof(c.Vocab)),
            OutFeatures = new Pin(layer, c, "VocabParallelEmbedding").Size("Hidden", layer.OutFeatures, c.Hidden, nameof(c.Hidden)),
        },
        ParallelStrategy.PositionEmbedding => layer with
        {
            InFeatures = new Pin(layer, c, "PositionEmbedding").Size("Positions", layer.InFeatures, c.Positions, nameof(c.Positions)),
            OutFeatures = new Pin(layer, c, "PositionEmbedding").Size("Hidden", layer.OutFeatures, c.Hidden, nameof(c.Hidden)),
        },
        ParallelStrategy.TransformerStack => Stack(layer, c),
        ParallelStrategy.FinalNorm => FinalNorm(layer, c),
        ParallelStrategy.LmHead => Head(layer, c),
        _ => throw new ShardingException($"Layer '{layer.Name}' is {layer.StrategyText}, which has no tensors in a Hugging Face checkpoint: a model loaded from one has only [VocabParallelEmbedding], [PositionEmbedding], [TransformerStack], [FinalNorm] and [LmHead] layers; remove it."),
    };

    private static LayerSpec Stack(LayerSpec layer, CheckpointConfig c)
    {
        var pin = new Pin(layer, c, "TransformerStack");
        var b = layer.Block ?? throw new ArgumentException($"Layer '{layer.Name}' is a transformer stack without a block shape.", nameof(layer));
        CheckArchitecture(layer, b, c);
        int hidden = pin.Size("Hidden", layer.InFeatures, c.Hidden, nameof(c.Hidden));
        pin.Size("Hidden", layer.OutFeatures, c.Hidden, nameof(c.Hidden));
        return layer with
        {
            InFeatures = hidden,
            OutFeatures = hidden,
            Block = b with
            {
                Heads = pin.Size("Heads", b.Heads, c.Heads, nameof(c.Heads)),
                KvHeads = pin.Size("KvHeads", b.KvHeads, c.KvHeads, nameof(c.KvHeads)),
                FfnHidden = pin.Size("FfnHidden", b.FfnHidden, c.FfnHidden, nameof(c.FfnHidden)),
                Layers = pin.Size("Layers", b.Layers, c.Layers, nameof(c.Layers)),
                Epsilon = pin.Real("NormEpsilon", b.Epsilon, c.NormEpsilon, nameof(c.NormEpsilon)),
                RopeTheta = b.Rotary ? pin.Real("RopeTheta", b.RopeTheta, c.RopeTheta, nameof(c.RopeTheta)) : b.RopeTheta,
                QkvBias = c.QkvBias,
                SlidingWindow = c.SlidingWindow ?? 0,
                LayerWindows = c.LayerWindows is { } windows ? new LayerWindows(windows) : null,
            },
        };
    }

    // The declared block must compute what the checkpoint's family computes.
    private static void CheckArchitecture(LayerSpec layer, TransformerSpec b, CheckpointConfig c)
    {
        bool llama = c.Family == ModelFamily.Llama;
        var wrong = new List<string>();
        if (b.Rotary != llama) wrong.Add($"Rotary = {Word(b.Rotary)}");
        if (b.Mlp != (llama ? MlpKind.Gated : MlpKind.Plain)) wrong.Add($"Mlp = MlpKind.{b.Mlp}");
        if (b.Norm != (llama ? NormKind.RmsNorm : NormKind.LayerNorm)) wrong.Add($"Norm = NormKind.{b.Norm}");
        if (layer.HasBias == llama) wrong.Add($"Bias = {Word(layer.HasBias)}");
        if (!b.Causal) wrong.Add("Causal = false");
        if (wrong.Count > 0)
            throw new ShardingException($"Layer '{layer.Name}' is declared [TransformerStack({string.Join(", ", wrong)})], but {c.Path} is a {c.ModelType} checkpoint, whose blocks are " +
                (llama ? "Rotary = true, Mlp = MlpKind.Gated, Norm = NormKind.RmsNorm, Bias = false" : "Rotary = false, Mlp = MlpKind.Plain, Norm = NormKind.LayerNorm, Bias = true") +
                $", causal: load it with a {(llama ? "LLaMA" : "GPT-2")} model class (docs/checkpoints.md).");
        if (layer.Activation != c.Activation)
            throw new ShardingException($"Layer '{layer.Name}' is declared [TransformerStack(Activation = Activation.{layer.Activation})], but {c.Path}'s {c.KeyOf(nameof(c.Activation))} is '{c.ActivationName}' (Activation.{c.Activation}): set Activation = Activation.{c.Activation}.");
    }

    private static LayerSpec FinalNorm(LayerSpec layer, CheckpointConfig c)
    {
        var kind = c.Family == ModelFamily.Llama ? NormKind.RmsNorm : NormKind.LayerNorm;
        if (layer.Norm != kind)
            throw new ShardingException($"Layer '{layer.Name}' is declared [FinalNorm(NormKind.{layer.Norm})], but {c.Path} is a {c.ModelType} checkpoint, whose final norm is {kind}: declare [FinalNorm(NormKind.{kind})].");
        var pin = new Pin(layer, c, "FinalNorm");
        int hidden = pin.Size("Hidden", layer.InFeatures, c.Hidden, nameof(c.Hidden));
        pin.Size("Hidden", layer.OutFeatures, c.Hidden, nameof(c.Hidden));
        return layer with { InFeatures = hidden, OutFeatures = hidden, NormEpsilon = pin.Real("Epsilon", layer.NormEpsilon, c.NormEpsilon, nameof(c.NormEpsilon)) };
    }

    private static LayerSpec Head(LayerSpec layer, CheckpointConfig c)
    {
        var pin = new Pin(layer, c, "LmHead");
        return layer with
        {
            InFeatures = pin.Size("Hidden", layer.InFeatures, c.Hidden, nameof(c.Hidden)),
            OutFeatures = pin.Size("Vocab", layer.OutFeatures, c.Vocab, nameof(c.Vocab)),
            Tied = c.TieWordEmbeddings,
        };
    }

    private static string Word(bool value) => value ? "true" : "false";

    /// <summary>One layer's attribute sizes: open (0) ones filled from config.json, pinned ones checked against it.</summary>
    private readonly record struct Pin(LayerSpec Layer, CheckpointConfig Config, string Attribute)
    {
        public int Size(string property, int declared, int fromConfig, string configProperty)
        {
            if (declared == 0 || declared == fromConfig) return fromConfig;
            throw Mismatch(property, declared.ToString(), fromConfig.ToString(), configProperty);
        }

        public float Real(string property, float declared, float fromConfig, string configProperty)
        {
            if (declared == 0 || Math.Abs(declared - fromConfig) <= 1e-6f * Math.Abs(fromConfig)) return declared == 0 ? fromConfig : declared;
            throw Mismatch(property, declared.ToString("R"), fromConfig.ToString("R"), configProperty);
        }

        private ShardingException Mismatch(string property, string declared, string fromConfig, string configProperty) =>
            new($"Layer '{Layer.Name}' declares [{Attribute}({property} = {declared})], but {Config.Path} says {Config.KeyOf(configProperty)} = {fromConfig}: " +
                $"the checkpoint is a different size; set {property} = {fromConfig}, or leave it out (0) to read it from config.json.");
    }
}
