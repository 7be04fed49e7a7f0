using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ShardGen.Planning;

namespace ShardGen.Checkpoints;

/// <summary>
/// A checkpoint's tensors as the logical weights of a resolved language model (<see cref="IWeightSource"/>): the
/// Hugging Face name table of docs/checkpoints.md maps each <see cref="WeightKey"/> to a tensor, transposing [out, in]
/// weights and taking GPT-2's fused q/k/v column ranges while reading. Construction checks that every tensor the
/// model reads is present, shaped as config.json says and of a readable dtype, reading no data; each
/// <see cref="Read"/> then touches only the slice's bytes. Does not own the checkpoint.
/// </summary>
public sealed class CheckpointWeights : IWeightSource, Runtime.IStridedWeightSource
{
    private const int MaxListedProblems = 8;

    private readonly Checkpoint _checkpoint;
    private readonly Dictionary<WeightKey, (TensorMapping Map, SafetensorsFile File, SafetensorsTensor Tensor)> _weights = new();

    /// <param name="checkpoint">The open checkpoint.</param>
    /// <param name="layers">The model's layers resolved against the checkpoint's config (<see cref="ConfigResolver.Resolve"/>).</param>
    public CheckpointWeights(Checkpoint checkpoint, IReadOnlyList<LayerSpec> layers)
    {
        _checkpoint = checkpoint;
        Layers = LanguageModelLayers.Of(layers);
        var config = checkpoint.Config;
        string gpt2Prefix = Gpt2Prefix = checkpoint.Contains("wte.weight") && !checkpoint.Contains("transformer.wte.weight") ? "" : "transformer.";
        var problems = new List<string>();
        foreach (var map in HuggingFaceNames.For(config.Family, layers, Layers, gpt2Prefix))
        {
            if (Check(map, layers) is { } problem) problems.Add(problem);
            else
            {
                checkpoint.TryGetTensor(map.Name, out var file, out var tensor);
                _weights.Add(map.Key, (map, file, tensor));
            }
        }
        problems.AddRange(ExtraBlocks(config, layers[Layers.Stack].Block!.Layers, gpt2Prefix));
        if (problems.Count > 0)
            throw new CheckpointException(
                $"{checkpoint.Directory} does not match the model ({config.ModelType}, {Describe(config)}):" + Environment.NewLine +
                string.Join(Environment.NewLine, problems.Take(MaxListedProblems).Select(p => "  " + p)) +
                (problems.Count > MaxListedProblems ? $"{Environment.NewLine}  … and {problems.Count - MaxListedProblems} more" : ""));
    }

    /// <summary>The prefix of GPT-2's tensor names in this checkpoint: "transformer." or "".</summary>
    internal string Gpt2Prefix { get; }

    /// <summary>Where the model's parts are in its layer list.</summary>
    public LanguageModelLayers Layers { get; }

    /// <summary>Every logical tensor the model reads.</summary>
    internal IEnumerable<WeightKey> Keys => _weights.Keys;

    /// <summary>Where <paramref name="key"/> is stored: its name mapping, file and tensor.</summary>
    internal (TensorMapping Map, SafetensorsFile File, SafetensorsTensor Tensor) Stored(WeightKey key) => _weights[key];

    public (int Rows, int Cols)? Shape(WeightKey key) =>
        _weights.TryGetValue(key, out var w) ? (w.Map.Rows, w.Map.Cols) : null;

    public string Name(WeightKey key) =>
        _weights.TryGetValue(key, out var w) ? w.Map.Name : $"(no tensor for {key})";

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination) =>
        ReadStrided(key, row0, rows, col0, cols, destination, cols);

    void Runtime.IStridedWeightSource.Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride) =>
        ReadStrided(key, row0, rows, col0, cols, destination, destinationStride);

    private void ReadStrided(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride)
    {
        if (!_weights.TryGetValue(key, out var w))
            throw new ArgumentException($"{_checkpoint.Directory}: the model reads no tensor for {key}.", nameof(key));
        var m = w.Map;
        if (row0 < 0 || rows < 0 || col0 < 0 || cols < 0 || (long)row0 + rows > m.Rows || (long)col0 + cols > m.Cols)
            throw new ArgumentOutOfRangeException(nameof(row0), $"Slice rows [{row0}, +{rows}) × columns [{col0}, +{cols}) is outside {key} ('{m.Name}', [{m.Rows}, {m.Cols}]).");
        w.File.ReadStrided(w.Tensor, row0, rows, m.Col0 + col0, cols, m.Transposed, destination, destinationStride);
    }

    private string? Check(TensorMapping map, IReadOnlyList<LayerSpec> layers)
    {
        string what = $"{Role(map.Key, layers)}, {ShapeText(map.StoredShape)}{(map.Transposed ? " (out, in)" : "")}";
        if (!_checkpoint.TryGetTensor(map.Name, out var file, out var tensor))
            return $"tensor '{map.Name}' ({what}) is missing" + (map.Key.Role == WeightRole.Head
                ? $"; config.json says tie_word_embeddings = false, so the head has its own weight: add it, or set tie_word_embeddings = true if the head is the embedding."
                : ": the checkpoint is incomplete or of another family; download it again.");
        if (!tensor.Shape.SequenceEqual(map.StoredShape))
            return $"tensor '{map.Name}' in {file.Path} is {tensor.ShapeText}, but config.json and the model expect {what}: the config contradicts the tensors; use the config.json that came with these weights.";
        if (tensor.DType == SafetensorsDType.Other)
            return $"tensor '{map.Name}' in {file.Path} has dtype {tensor.DTypeName}; ShardGen reads F32, F16 and BF16: save the checkpoint in one of those (e.g. model.to(torch.bfloat16)).";
        return null;
    }

    // Blocks beyond config.json's layer count mean the config describes a different (smaller) model.
    private IEnumerable<string> ExtraBlocks(CheckpointConfig config, int blocks, string gpt2Prefix)
    {
        string prefix = config.Family == ModelFamily.Llama ? "model.layers." : gpt2Prefix + "h.";
        var extra = _checkpoint.TensorNames
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => (Name: n, Index: int.TryParse(n.AsSpan(prefix.Length, Math.Max(0, n.IndexOf('.', prefix.Length) - prefix.Length)), NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : -1))
            .Where(t => t.Index >= blocks)
            .ToList();
        if (extra.Count > 0)
            yield return $"tensor '{extra[0].Name}' is of block {extra[0].Index} (the checkpoint has blocks 0 to {extra.Max(t => t.Index)}), but config.json says {config.KeyOf(nameof(config.Layers))} = {blocks}: the config contradicts the tensors; use the config.json that came with these weights.";
    }

    private static string Role(WeightKey key, IReadOnlyList<LayerSpec> layers) => key.Block >= 0
        ? $"{key.Role} of block {key.Block} of layer '{layers[key.Layer].Name}'"
        : $"{key.Role} of layer '{layers[key.Layer].Name}'";

    private static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static string Describe(CheckpointConfig c) =>
        $"{c.KeyOf(nameof(c.Vocab))} = {c.Vocab}, {c.KeyOf(nameof(c.Hidden))} = {c.Hidden}, {c.KeyOf(nameof(c.Heads))} = {c.Heads}, " +
        (c.Family == ModelFamily.Llama ? $"{c.KeyOf(nameof(c.KvHeads))} = {c.KvHeads}, " : "") +
        $"{c.KeyOf(nameof(c.FfnHidden))} = {c.FfnHidden}, {c.KeyOf(nameof(c.Layers))} = {c.Layers}";
}
