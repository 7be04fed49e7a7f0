using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

// The README's family classes with the residual stream sharded by tokens between the tensor-parallel regions: their
// generated ForwardBackward runs the TokenShards backward overloads. Every size from config.json (or Create's layers).

/// <summary>LLaMA family (LLaMA, Mistral, Qwen2) under sequence parallelism.</summary>
[ShardedModel(SequenceParallel = true)]
public partial class LlamaSequenceParallel
{
    [VocabParallelEmbedding] public partial Embedding Embed { get; }
    [TransformerStack(Norm = NormKind.RmsNorm, Mlp = MlpKind.Gated, Activation = Activation.Silu, Rotary = true)]
    public partial TransformerStack Layers { get; }
    [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
    [LmHead] public partial Linear Head { get; }
}

/// <summary>GPT-2 family under sequence parallelism: positions are added to each device's own tokens.</summary>
[ShardedModel(SequenceParallel = true)]
public partial class Gpt2SequenceParallel
{
    [VocabParallelEmbedding] public partial Embedding Embed { get; }
    [PositionEmbedding] public partial Embedding Positions { get; }
    [TransformerStack(Norm = NormKind.LayerNorm, Mlp = MlpKind.Plain, Activation = Activation.GeluTanh, Rotary = false, Bias = true)]
    public partial TransformerStack Layers { get; }
    [FinalNorm(NormKind.LayerNorm)] public partial Norm FinalNorm { get; }
    [LmHead] public partial Linear Head { get; }
}

/// <summary>Picks the generated class of a family (llama, mistral and qwen2 are one class) with or without sequence parallelism.</summary>
internal static class TrainableModels
{
    public static bool IsGpt2(string family) => family == "gpt2";

    public static IReadOnlyList<LayerSpec> LayerSpecs(string family, bool sequenceParallel) => (IsGpt2(family), sequenceParallel) switch
    {
        (false, false) => Llama.LayerSpecs,
        (false, true) => LlamaSequenceParallel.LayerSpecs,
        (true, false) => Gpt2.LayerSpecs,
        (true, true) => Gpt2SequenceParallel.LayerSpecs,
    };

    /// <summary>Loads a Hugging Face checkpoint folder.</summary>
    public static ITrainableLanguageModel Load(DeviceMesh mesh, string family, bool sequenceParallel, string checkpoint) => (IsGpt2(family), sequenceParallel) switch
    {
        (false, false) => Llama.Load(mesh, checkpoint),
        (false, true) => LlamaSequenceParallel.Load(mesh, checkpoint),
        (true, false) => Gpt2.Load(mesh, checkpoint),
        (true, true) => Gpt2SequenceParallel.Load(mesh, checkpoint),
    };

    /// <summary>Creates from host weights and resolved <paramref name="layers"/> (the family's layers with every size filled).</summary>
    public static ITrainableLanguageModel Create(DeviceMesh mesh, bool gpt2, bool sequenceParallel, IWeightSource weights, IReadOnlyList<LayerSpec> layers) =>
        (gpt2, sequenceParallel) switch
        {
            (false, false) => Llama.Create(mesh, weights, layers),
            (false, true) => LlamaSequenceParallel.Create(mesh, weights, layers),
            (true, false) => Gpt2.Create(mesh, weights, layers),
            (true, true) => Gpt2SequenceParallel.Create(mesh, weights, layers),
        };

    /// <summary>Small models of both families with every size pinned (TinyLlama, TinyGpt2) and variants of them, by name.</summary>
    internal static LayerSpec[] Layers(string model) => model switch
    {
        "TinyLlama tied, q/k/v biases" => TinyLlama.LayerSpecs.Select(l => l.Strategy switch
        {
            ParallelStrategy.LmHead => l with { Tied = true },
            ParallelStrategy.TransformerStack => l with { Block = l.Block! with { QkvBias = true } },
            _ => l,
        }).ToArray(),
        "TinyLlama 4 KV heads" => TinyLlama.LayerSpecs.Select(l => l.Block is { } b ? l with { Block = b with { KvHeads = 4 } } : l).ToArray(),
        "TinyGpt2" => TinyGpt2.LayerSpecs.ToArray(),
        _ => throw new ArgumentException(model),
    };

    /// <summary>Each logical parameter's gradient ([in, out], as the weights) put together from every device's slices.</summary>
    internal static Dictionary<WeightKey, double[,]> Logical(ModelTraining training)
    {
        var shapes = LanguageModelWeights.Expected(training.Core.Plan).ToDictionary(t => t.Key);
        var result = new Dictionary<WeightKey, double[,]>();
        foreach (var slice in training.Gradients)
        {
            var shape = shapes[slice.Key];
            if (!result.TryGetValue(slice.Key, out var g)) result[slice.Key] = g = new double[shape.Rows, shape.Cols];
            var host = new float[slice.Rows * slice.Cols];
            slice.Download(host);
            for (int r = 0; r < slice.Rows; r++)
                for (int c = 0; c < slice.Cols; c++) g[slice.Row0 + r, slice.Col0 + c] = host[r * slice.Cols + c];
        }
        return result;
    }
}
