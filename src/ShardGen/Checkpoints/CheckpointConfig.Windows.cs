using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace ShardGen.Checkpoints;

// Which layers slide a window, decided as transformers' configs decide it. Mistral: sliding_window on every layer
// (MistralModel ignores layer_types). Qwen2 (configuration_qwen2.py): sliding_window only when use_sliding_window
// (default 4096 when the key is absent); layer_types when written, else "sliding_attention" for layers
// i >= max_window_layers (default 28), the rule older versions applied in the attention (layer_idx >= max_window_layers).
public sealed partial record CheckpointConfig
{
    /// <summary>The layer_types entries ShardGen computes.</summary>
    public const string FullAttention = "full_attention", SlidingAttention = "sliding_attention";

    private static (int? Window, IReadOnlyList<int>? LayerWindows) Windows(ConfigKeys keys, string path, string modelType, int layers)
    {
        string[]? types = LayerTypes(keys, path, layers);
        int? window = modelType switch
        {
            "mistral" => keys.OptionalInt("sliding_window"),
            "qwen2" when keys.Bool("use_sliding_window") == true => keys.Has("sliding_window") ? keys.OptionalInt("sliding_window") : 4096,
            _ => null,
        };
        // Without layer_types the window starts at Qwen2's max_window_layers, at layer 0 for Mistral.
        int first = modelType == "qwen2" && types is null && window is not null ? MaxWindowLayers(keys, path) : 0;
        bool[] sliding = types?.Select(t => t == SlidingAttention).ToArray()
            ?? Enumerable.Range(0, layers).Select(i => window is not null && i >= first).ToArray();
        for (int i = 0; i < layers; i++)
        {
            if (modelType == "mistral" && sliding[i] != (window is not null))
                throw new CheckpointException($"{path}: layer_types[{i}] is \"{types![i]}\", but transformers' MistralModel applies sliding_window = {window?.ToString() ?? "null"} to every layer and ignores layer_types: " +
                    $"remove layer_types, or make every entry \"{(window is null ? FullAttention : SlidingAttention)}\".");
            if (sliding[i] && window is null)
                throw new CheckpointException(modelType == "qwen2"
                    ? $"{path}: layer_types[{i}] is \"{SlidingAttention}\", but {(keys.Bool("use_sliding_window") == true ? "sliding_window is null" : "use_sliding_window is not true")}, so Qwen2 has no window to slide (transformers refuses it too): " +
                      $"set use_sliding_window = true with a sliding_window, or make layer {i} \"{FullAttention}\"."
                    : $"{path}: layer_types[{i}] is \"{SlidingAttention}\", but model_type {modelType} has no sliding window (transformers' LlamaModel attends to the whole sequence in every layer): make it \"{FullAttention}\" or remove layer_types.");
        }
        int[] windows = sliding.Select(s => s ? window!.Value : 0).ToArray();
        if (windows.All(w => w == windows[0]))
            return (windows[0] == 0 ? null : windows[0], null);
        return (window, windows);
    }

    /// <summary>layer_types checked: one known type per layer (null when absent).</summary>
    private static string[]? LayerTypes(ConfigKeys keys, string path, int layers)
    {
        if (keys.Raw("layer_types") is not { } raw) return null;
        if (raw.ValueKind != JsonValueKind.Array || raw.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
            throw new CheckpointException($"{path}: 'layer_types' is {raw.GetRawText()}, not a list of strings (\"{FullAttention}\" or \"{SlidingAttention}\", one per layer); fix config.json.");
        string[] types = raw.EnumerateArray().Select(t => t.GetString()!).ToArray();
        if (types.Length != layers)
            throw new CheckpointException($"{path}: layer_types has {types.Length} entries but num_hidden_layers = {layers}: it needs one per layer; fix it, or remove it to derive the layers from use_sliding_window and max_window_layers.");
        for (int i = 0; i < types.Length; i++)
            if (types[i] is not (FullAttention or SlidingAttention))
                throw new CheckpointException($"{path}: layer_types[{i}] is \"{types[i]}\", which ShardGen does not compute: it attends with \"{FullAttention}\" and \"{SlidingAttention}\" layers only; use a checkpoint of those.");
        return types;
    }

    /// <summary>Qwen2's max_window_layers: a count of leading full-attention layers, 0 allowed.</summary>
    private static int MaxWindowLayers(ConfigKeys keys, string path) => keys.Raw("max_window_layers") is not { } v ? 28
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n >= 0 ? n
        : throw new CheckpointException($"{path}: 'max_window_layers' is {v.GetRawText()}, not a non-negative integer (the count of leading full-attention layers); fix config.json.");
}
