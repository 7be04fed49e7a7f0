using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace ShardGen.Checkpoints;

/// <summary>
/// A Hugging Face checkpoint folder: <c>config.json</c> and either one <c>model.safetensors</c> or a sharded set named
/// by <c>model.safetensors.index.json</c> (weight_map: tensor → file). <see cref="Open"/> maps every file and checks
/// every header and the config, reading no tensor data; tensors are then read a slice at a time.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    public const string ConfigFile = "config.json";
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)> _tensors;

    private Checkpoint(string directory, CheckpointConfig config, List<SafetensorsFile> files,
        Dictionary<string, (SafetensorsFile, SafetensorsTensor)> tensors)
    {
        Directory = directory;
        Config = config;
        _files = files;
        _tensors = tensors;
    }

    public string Directory { get; }

    public CheckpointConfig Config { get; }

    /// <summary>The safetensors files, mapped.</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>Every tensor's name, sorted.</summary>
    public IEnumerable<string> TensorNames => _tensors.Keys.OrderBy(n => n, StringComparer.Ordinal);

    public static Checkpoint Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new CheckpointException($"{directory}: no such folder; pass a Hugging Face checkpoint folder (config.json and model.safetensors or {IndexFile}).");
        var config = CheckpointConfig.Load(Path.Combine(directory, ConfigFile));
        string index = Path.Combine(directory, IndexFile), single = Path.Combine(directory, SingleFile);
        var files = new List<SafetensorsFile>();
        try
        {
            var tensors = File.Exists(index) ? Sharded(directory, index, files)
                : File.Exists(single) ? Whole(single, files)
                : throw new CheckpointException($"{directory}: has neither {SingleFile} nor {IndexFile}; ShardGen reads safetensors checkpoints (convert a PyTorch .bin with safetensors' save_file, or download the .safetensors files).");
            return new Checkpoint(directory, config, files, tensors);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    private static Dictionary<string, (SafetensorsFile, SafetensorsTensor)> Whole(string path, List<SafetensorsFile> files)
    {
        var file = SafetensorsFile.Open(path);
        files.Add(file);
        return file.Tensors.ToDictionary(t => t.Name, t => (file, t), StringComparer.Ordinal);
    }

    // Every tensor the index names must be in the file it names; tensors of a file the index does not list are ignored.
    private static Dictionary<string, (SafetensorsFile, SafetensorsTensor)> Sharded(string directory, string index, List<SafetensorsFile> files)
    {
        var map = WeightMap(index);
        var byName = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (string name in map.Values.Distinct(StringComparer.Ordinal))
        {
            if (Path.IsPathRooted(name) || name.Split('/', '\\').Contains(".."))
                throw new CheckpointException($"{index}: weight_map names file '{name}', outside the checkpoint folder; fix the index.");
            var file = SafetensorsFile.Open(Path.Combine(directory, name));
            files.Add(file);
            byName.Add(name, file);
        }
        var tensors = new Dictionary<string, (SafetensorsFile, SafetensorsTensor)>(StringComparer.Ordinal);
        foreach (var (tensor, fileName) in map)
        {
            var file = byName[fileName];
            if (!file.TryGetTensor(tensor, out var t))
                throw new CheckpointException($"{index}: weight_map puts tensor '{tensor}' in {fileName}, but {file.Path} has no such tensor: the index and the files disagree; download them again.");
            tensors.Add(tensor, (file, t));
        }
        return tensors;
    }

    private static Dictionary<string, string> WeightMap(string index)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(index));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{index}: has no weight_map object (tensor name → file name); download the index again.");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
                result[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()!
                    : throw new CheckpointException($"{index}: weight_map's entry for '{entry.Name}' is {entry.Value.GetRawText()}, not a file name; download the index again.");
            return result;
        }
        catch (JsonException e) { throw new CheckpointException($"{index}: is not JSON ({e.Message}); download the index again."); }
        catch (IOException e) { throw new CheckpointException($"{index}: cannot be read ({e.Message})."); }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The tensor named <paramref name="name"/> and the file it is in; false when the checkpoint has none.</summary>
    public bool TryGetTensor(string name, out SafetensorsFile file, out SafetensorsTensor tensor)
    {
        bool found = _tensors.TryGetValue(name, out var entry);
        (file, tensor) = entry;
        return found;
    }

    /// <summary>Reads a slice of the named tensor (see <see cref="SafetensorsFile.Read"/>).</summary>
    public void Read(string name, int row0, int rows, int col0, int cols, bool transposed, Span<float> destination)
    {
        if (!TryGetTensor(name, out var file, out var tensor))
            throw new CheckpointException($"{Directory}: has no tensor '{name}'.");
        file.Read(tensor, row0, rows, col0, cols, transposed, destination);
    }

    /// <summary>The whole named tensor as a float32 matrix (tests and small tensors).</summary>
    public float[,] ReadMatrix(string name, bool transposed = false)
    {
        if (!TryGetTensor(name, out var file, out _))
            throw new CheckpointException($"{Directory}: has no tensor '{name}'.");
        return file.ReadMatrix(name, transposed);
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
