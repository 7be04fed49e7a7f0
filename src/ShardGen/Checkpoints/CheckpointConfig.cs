using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace ShardGen.Checkpoints;

/// <summary>
/// The sizes and conventions in a checkpoint's config.json, read with the Hugging Face keys and defaults of each
/// model_type: <c>llama</c>, <c>mistral</c>, <c>qwen2</c> (the LLaMA family) and <c>gpt2</c>. What ShardGen cannot
/// compute exactly (rope_scaling, a head_dim other than hidden / heads, biases beyond q/k/v…) fails here, by key.
/// </summary>
public sealed partial record CheckpointConfig
{
    /// <summary>The model_type values ShardGen loads.</summary>
    public static readonly string[] SupportedModelTypes = ["llama", "mistral", "qwen2", "gpt2"];

    /// <summary>The config.json this came from, for messages.</summary>
    public required string Path { get; init; }
    public required string ModelType { get; init; }
    public required ModelFamily Family { get; init; }
    public required int Vocab { get; init; }
    public required int Hidden { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int FfnHidden { get; init; }
    public required int Layers { get; init; }
    /// <summary>max_position_embeddings / n_positions: the learned table's rows (GPT-2), the longest sequence (LLaMA).</summary>
    public required int Positions { get; init; }
    public required float NormEpsilon { get; init; }
    /// <summary>RoPE base θ (LLaMA family; 10000 when absent).</summary>
    public required float RopeTheta { get; init; }
    public required bool TieWordEmbeddings { get; init; }
    /// <summary>Biases on q, k and v only (Qwen2).</summary>
    public required bool QkvBias { get; init; }
    /// <summary>The MLP's activation (hidden_act / activation_function).</summary>
    public required Activation Activation { get; init; }
    /// <summary>The activation as config.json names it.</summary>
    public required string ActivationName { get; init; }
    /// <summary>
    /// The sliding window W of the windowed layers (Mistral's sliding_window; Qwen2's when use_sliding_window): query i
    /// attends keys i − W &lt; j ≤ i, as Hugging Face masks it (null: none). Every layer's unless <see cref="LayerWindows"/>.
    /// </summary>
    public int? SlidingWindow { get; init; }

    /// <summary>Each layer's window (0: full attention) where the layers differ (Qwen2's max_window_layers, layer_types); null when they all take <see cref="SlidingWindow"/>.</summary>
    public IReadOnlyList<int>? LayerWindows { get; init; }

    public int HeadDim => Hidden / Heads;

    /// <summary>The config.json key a size came from, for messages (e.g. "hidden_size" or "n_embd").</summary>
    public string KeyOf(string property) => (Family, property) switch
    {
        (ModelFamily.Gpt2, nameof(Hidden)) => "n_embd",
        (ModelFamily.Gpt2, nameof(Heads)) => "n_head",
        (ModelFamily.Gpt2, nameof(KvHeads)) => "n_head",
        (ModelFamily.Gpt2, nameof(FfnHidden)) => "n_inner",
        (ModelFamily.Gpt2, nameof(Layers)) => "n_layer",
        (ModelFamily.Gpt2, nameof(Positions)) => "n_positions",
        (ModelFamily.Gpt2, nameof(NormEpsilon)) => "layer_norm_epsilon",
        (ModelFamily.Gpt2, nameof(Activation)) => "activation_function",
        (_, nameof(Vocab)) => "vocab_size",
        (_, nameof(Hidden)) => "hidden_size",
        (_, nameof(Heads)) => "num_attention_heads",
        (_, nameof(KvHeads)) => "num_key_value_heads",
        (_, nameof(FfnHidden)) => "intermediate_size",
        (_, nameof(Layers)) => "num_hidden_layers",
        (_, nameof(Positions)) => "max_position_embeddings",
        (_, nameof(NormEpsilon)) => "rms_norm_eps",
        (_, nameof(RopeTheta)) => "rope_theta",
        (_, nameof(TieWordEmbeddings)) => "tie_word_embeddings",
        (_, nameof(Activation)) => "hidden_act",
        _ => property,
    };

    public static CheckpointConfig Load(string path)
    {
        if (!File.Exists(path))
            throw new CheckpointException($"{path}: no such file; a Hugging Face checkpoint folder has a config.json beside its .safetensors files (model_type, sizes): copy it from the model's repository.");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot be read ({e.Message}).");
        }
        return Parse(text, path);
    }

    public static CheckpointConfig Parse(string json, string path)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }); }
        catch (JsonException e) { throw new CheckpointException($"{path}: is not JSON ({e.Message}); restore the checkpoint's config.json."); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new CheckpointException($"{path}: is JSON but not an object; restore the checkpoint's config.json.");
            var keys = new ConfigKeys(root, path);
            string supported = string.Join(", ", SupportedModelTypes);
            string modelType = keys.String("model_type")
                ?? throw new CheckpointException($"{path}: has no model_type; ShardGen loads {supported}.");
            return modelType switch
            {
                "llama" or "mistral" or "qwen2" => LlamaFamily(keys, path, modelType),
                "gpt2" => Gpt2(keys, path),
                _ => throw new CheckpointException($"{path}: model_type '{modelType}' is not supported; ShardGen loads {supported}."),
            };
        }
    }

    private static CheckpointConfig LlamaFamily(ConfigKeys keys, string path, string modelType)
    {
        keys.Unsupported("rope_scaling", "ShardGen computes plain RoPE (θ^(−2i/d)); use a checkpoint without rope_scaling");
        if (keys.Bool("attention_bias") == true)
            throw new CheckpointException($"{path}: attention_bias = true (biases on q, k, v and o) is not supported; ShardGen reads Qwen2-style biases on q, k and v only.");
        if (keys.Bool("mlp_bias") == true)
            throw new CheckpointException($"{path}: mlp_bias = true is not supported; the LLaMA family's MLP has no biases in ShardGen.");
        int hidden = keys.Positive("hidden_size"), heads = keys.Positive("num_attention_heads"), layers = keys.Positive("num_hidden_layers");
        var (window, layerWindows) = Windows(keys, path, modelType, layers);
        string activation = keys.String("hidden_act") ?? "silu";
        var config = new CheckpointConfig
        {
            Path = path,
            ModelType = modelType,
            Family = ModelFamily.Llama,
            Vocab = keys.Positive("vocab_size"),
            Hidden = hidden,
            Heads = heads,
            KvHeads = keys.Positive("num_key_value_heads", heads),
            FfnHidden = keys.Positive("intermediate_size"),
            Layers = layers,
            Positions = keys.Positive("max_position_embeddings", 2048),
            NormEpsilon = keys.Epsilon("rms_norm_eps", 1e-6),
            RopeTheta = (float)keys.Number("rope_theta", 10000),
            TieWordEmbeddings = keys.Bool("tie_word_embeddings") ?? false,
            QkvBias = modelType == "qwen2",
            Activation = ParseActivation(activation, "hidden_act", path),
            ActivationName = activation,
            SlidingWindow = window,
            LayerWindows = layerWindows,
        };
        keys.HeadDim(hidden, heads);
        return config.Checked();
    }

    private static CheckpointConfig Gpt2(ConfigKeys keys, string path)
    {
        if (keys.Bool("scale_attn_by_inverse_layer_idx") == true)
            throw new CheckpointException($"{path}: scale_attn_by_inverse_layer_idx = true is not supported; ShardGen scales attention by 1/√headDim only.");
        if (keys.Bool("scale_attn_weights") == false)
            throw new CheckpointException($"{path}: scale_attn_weights = false is not supported; ShardGen scales attention by 1/√headDim.");
        int hidden = keys.Positive("n_embd"), heads = keys.Positive("n_head");
        string activation = keys.String("activation_function") ?? "gelu_new";
        return new CheckpointConfig
        {
            Path = path,
            ModelType = "gpt2",
            Family = ModelFamily.Gpt2,
            Vocab = keys.Positive("vocab_size"),
            Hidden = hidden,
            Heads = heads,
            KvHeads = heads,
            FfnHidden = keys.Positive("n_inner", 4 * hidden),
            Layers = keys.Positive("n_layer"),
            Positions = keys.Positive("n_positions"),
            NormEpsilon = keys.Epsilon("layer_norm_epsilon", 1e-5),
            RopeTheta = 0,
            TieWordEmbeddings = keys.Bool("tie_word_embeddings") ?? true,
            QkvBias = false,
            Activation = ParseActivation(activation, "activation_function", path),
            ActivationName = activation,
        }.Checked();
    }

    private CheckpointConfig Checked()
    {
        if (Hidden % Heads != 0)
            throw new CheckpointException($"{Path}: {KeyOf(nameof(Hidden))} = {Hidden} is not a multiple of {KeyOf(nameof(Heads))} = {Heads}: heads must be equally wide; the config is wrong.");
        if (KvHeads > Heads || Heads % KvHeads != 0)
            throw new CheckpointException($"{Path}: {KeyOf(nameof(Heads))} = {Heads} is not a multiple of {KeyOf(nameof(KvHeads))} = {KvHeads}: each key/value head serves a whole group of query heads; the config is wrong.");
        return this;
    }

    private static Activation ParseActivation(string name, string key, string path) => name switch
    {
        "silu" or "swish" => Activation.Silu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluTanh,
        "gelu" => Activation.Gelu,
        "relu" => Activation.Relu,
        "tanh" => Activation.Tanh,
        "sigmoid" => Activation.Sigmoid,
        _ => throw new CheckpointException($"{path}: {key} '{name}' is not supported; ShardGen computes silu, gelu, gelu_new (gelu_pytorch_tanh), relu, tanh and sigmoid."),
    };

    /// <summary>Typed reads of config.json keys; a wrong or missing value names the key and the file.</summary>
    private readonly struct ConfigKeys(JsonElement root, string path)
    {
        private JsonElement? Get(string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        /// <summary>The key's value as written (null when absent or JSON null).</summary>
        public JsonElement? Raw(string key) => Get(key);

        /// <summary>Whether the key is written at all, JSON null included (Hugging Face defaults only absent keys).</summary>
        public bool Has(string key) => root.TryGetProperty(key, out _);

        public string? String(string key) => Get(key) is { } v
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Wrong(key, v, "a string")
            : null;

        public bool? Bool(string key) => Get(key) is { } v
            ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Wrong(key, v, "true or false")
            : null;

        public double Number(string key, double fallback) => Get(key) is { } v
            ? v.ValueKind == JsonValueKind.Number && v.GetDouble() > 0 ? v.GetDouble() : throw Wrong(key, v, "a positive number")
            : fallback;

        public float Epsilon(string key, double fallback) => (float)Number(key, fallback);

        public int? OptionalInt(string key) => Get(key) is { } v
            ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n > 0 ? n : throw Wrong(key, v, "a positive integer")
            : null;

        /// <summary>A positive integer: required when <paramref name="fallback"/> is null.</summary>
        public int Positive(string key, int? fallback = null) =>
            OptionalInt(key) ?? fallback ?? throw new CheckpointException($"{path}: has no '{key}'; config.json must state it (copy the model's config.json from its repository).");

        public void Unsupported(string key, string fix)
        {
            if (Get(key) is { } v)
                throw new CheckpointException($"{path}: {key} = {v.GetRawText()} is not supported: {fix}.");
        }

        public void HeadDim(int hidden, int heads)
        {
            if (OptionalInt("head_dim") is { } d && d * heads != hidden)
                throw new CheckpointException($"{path}: head_dim = {d} with num_attention_heads = {heads} and hidden_size = {hidden} is not supported: ShardGen needs head_dim = hidden_size / num_attention_heads = {(double)hidden / heads}.");
        }

        private CheckpointException Wrong(string key, JsonElement v, string expected) =>
            new($"{path}: '{key}' is {v.GetRawText()}, not {expected}; fix config.json.");
    }
}
