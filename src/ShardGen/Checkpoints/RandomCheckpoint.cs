using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using ShardGen.Planning;

namespace ShardGen.Checkpoints;

/// <summary>The shape and options of a random checkpoint (<see cref="RandomCheckpoint.Write"/>).</summary>
public sealed record RandomCheckpointSpec(ModelFamily Family, int Vocab, int Hidden, int Heads, int KvHeads, int FfnHidden, int Layers)
{
    /// <summary>max_position_embeddings / n_positions.</summary>
    public int Positions { get; init; } = 128;
    public int Seed { get; init; } = 1;
    public SafetensorsDType DType { get; init; } = SafetensorsDType.F32;
    /// <summary>Files: 1 writes model.safetensors; more write model-0000k-of-0000n.safetensors and the index.</summary>
    public int Shards { get; init; } = 1;
    /// <summary>tie_word_embeddings (null: the family's default, false for LLaMA, true for GPT-2).</summary>
    public bool? Tied { get; init; }
    /// <summary>llama, mistral or qwen2 (q/k/v biases) for the LLaMA family; gpt2 for GPT-2 (null: llama / gpt2).</summary>
    public string? ModelType { get; init; }
    public float NormEpsilon { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
}

/// <summary>
/// Writes a small random-weight checkpoint in Hugging Face layout (config.json, safetensors, an index when sharded),
/// for samples and tests that need no download. Weights are scaled so activations and logits stay O(1).
/// </summary>
public static class RandomCheckpoint
{
    /// <summary>Writes the checkpoint into <paramref name="directory"/> (created if missing) and returns it.</summary>
    public static string Write(string directory, RandomCheckpointSpec spec)
    {
        if (spec.Shards < 1) throw new ArgumentOutOfRangeException(nameof(spec), "Shards must be at least 1.");
        Directory.CreateDirectory(directory);
        string modelType = spec.ModelType ?? (spec.Family == ModelFamily.Llama ? "llama" : "gpt2");
        bool tied = spec.Tied ?? spec.Family == ModelFamily.Gpt2;
        var tensors = Tensors(spec, modelType == "qwen2", tied);
        WriteConfig(Path.Combine(directory, Checkpoint.ConfigFile), spec, modelType, tied);
        if (spec.Shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(directory, Checkpoint.SingleFile), tensors, spec.DType);
            return directory;
        }
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        int first = 0;
        for (int k = 0; k < spec.Shards; k++)
        {
            int count = EvenRanges.Length(tensors.Count, spec.Shards, k);
            string name = $"model-{k + 1:D5}-of-{spec.Shards:D5}.safetensors";
            var part = tensors.Skip(first).Take(count).ToList();
            SafetensorsWriter.Write(Path.Combine(directory, name), part, spec.DType);
            foreach (var t in part) weightMap[t.Name] = name;
            first += count;
        }
        long totalSize = tensors.Sum(t => (long)t.Data.Length * SafetensorsDTypes.Size(spec.DType));
        WriteJson(Path.Combine(directory, Checkpoint.IndexFile), new Dictionary<string, object>
        {
            ["metadata"] = new Dictionary<string, object> { ["total_size"] = totalSize },
            ["weight_map"] = weightMap,
        });
        return directory;
    }

    // The tensors a model of this shape reads, by the same name table the loader uses, each drawn at its role's scale.
    private static List<NamedTensor> Tensors(RandomCheckpointSpec s, bool qkvBias, bool tied)
    {
        bool llama = s.Family == ModelFamily.Llama;
        var layers = new List<LayerSpec> { new("Embed", ParallelStrategy.VocabEmbedding, s.Vocab, s.Hidden, false, Activation.None, WeightLayout.InOut) };
        if (!llama) layers.Add(new("Positions", ParallelStrategy.PositionEmbedding, s.Positions, s.Hidden, false, Activation.None, WeightLayout.InOut));
        layers.Add(new("Layers", ParallelStrategy.TransformerStack, s.Hidden, s.Hidden, !llama, llama ? Activation.Silu : Activation.GeluTanh, WeightLayout.InOut)
        {
            Block = new TransformerSpec(s.Heads, s.KvHeads, s.FfnHidden, llama ? NormKind.RmsNorm : NormKind.LayerNorm, true, s.NormEpsilon)
            {
                Layers = s.Layers, Mlp = llama ? MlpKind.Gated : MlpKind.Plain, Rotary = llama, RopeTheta = s.RopeTheta, QkvBias = qkvBias,
            },
        });
        layers.Add(new("FinalNorm", ParallelStrategy.FinalNorm, s.Hidden, s.Hidden, false, Activation.None, WeightLayout.InOut) { Norm = llama ? NormKind.RmsNorm : NormKind.LayerNorm, NormEpsilon = s.NormEpsilon });
        layers.Add(new("Head", ParallelStrategy.LmHead, s.Hidden, s.Vocab, false, Activation.None, WeightLayout.InOut) { Tied = tied });

        var random = new Random(s.Seed);
        var result = new List<NamedTensor>();
        foreach (var map in HuggingFaceNames.For(s.Family, layers, LanguageModelLayers.Of(layers), "transformer."))
        {
            if (result.Count > 0 && result[^1].Name == map.Name) continue;   // c_attn's q, k and v ranges are one tensor
            long elements = map.StoredShape.Aggregate(1L, (a, b) => a * b);
            var (mean, std) = Scale(map.Key.Role, map.Rows, s.Hidden);
            var data = new float[elements];
            for (long i = 0; i < elements; i++) data[i] = (float)(mean + std * Gaussian(random));
            result.Add(new NamedTensor(map.Name, map.StoredShape, data));
        }
        return result;
    }

    // Matrices by 1/√fan-in (fan-in = logical rows), embeddings by 1/√hidden, norm scales near 1, biases small.
    private static (double Mean, double Std) Scale(WeightRole role, int rows, int hidden) => role switch
    {
        WeightRole.TokenEmbedding or WeightRole.PositionEmbedding => (0, 1 / Math.Sqrt(hidden)),
        WeightRole.AttentionNormScale or WeightRole.MlpNormScale or WeightRole.FinalNormScale => (1, 0.1),
        WeightRole.AttentionNormShift or WeightRole.MlpNormShift or WeightRole.FinalNormShift => (0, 0.1),
        WeightRole.QueryBias or WeightRole.KeyBias or WeightRole.ValueBias or WeightRole.AttentionOutputBias or
            WeightRole.MlpGateBias or WeightRole.MlpUpBias or WeightRole.MlpDownBias or WeightRole.HeadBias => (0, 0.1),
        _ => (0, 1 / Math.Sqrt(rows)),
    };

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    internal static void WriteConfig(string path, RandomCheckpointSpec s, string modelType, bool tied)
    {
        var config = s.Family == ModelFamily.Llama
            ? new Dictionary<string, object>
            {
                ["architectures"] = new[] { modelType == "qwen2" ? "Qwen2ForCausalLM" : modelType == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM" },
                ["model_type"] = modelType,
                ["vocab_size"] = s.Vocab,
                ["hidden_size"] = s.Hidden,
                ["num_attention_heads"] = s.Heads,
                ["num_key_value_heads"] = s.KvHeads,
                ["intermediate_size"] = s.FfnHidden,
                ["num_hidden_layers"] = s.Layers,
                ["max_position_embeddings"] = s.Positions,
                ["rms_norm_eps"] = s.NormEpsilon,
                ["rope_theta"] = s.RopeTheta,
                ["hidden_act"] = "silu",
                ["tie_word_embeddings"] = tied,
                ["torch_dtype"] = s.DType == SafetensorsDType.BF16 ? "bfloat16" : "float32",
            }
            : new Dictionary<string, object>
            {
                ["architectures"] = new[] { "GPT2LMHeadModel" },
                ["model_type"] = "gpt2",
                ["vocab_size"] = s.Vocab,
                ["n_embd"] = s.Hidden,
                ["n_head"] = s.Heads,
                ["n_inner"] = s.FfnHidden,
                ["n_layer"] = s.Layers,
                ["n_positions"] = s.Positions,
                ["layer_norm_epsilon"] = s.NormEpsilon,
                ["activation_function"] = "gelu_new",
                ["tie_word_embeddings"] = tied,
                ["torch_dtype"] = s.DType == SafetensorsDType.BF16 ? "bfloat16" : "float32",
            };
        if (s.Family == ModelFamily.Gpt2 && s.KvHeads != s.Heads)
            throw new ArgumentException($"GPT-2 has no grouped-query attention: KvHeads ({s.KvHeads}) must equal Heads ({s.Heads}).", nameof(s));
        WriteJson(path, config);
    }

    private static void WriteJson(string path, object value)
    {
        string temporary = path + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
    }
}
