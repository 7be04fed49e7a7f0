using System;
using System.Collections.Generic;
using ShardGen.Planning;
using ShardGen.Tests.LanguageModel;

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
}
