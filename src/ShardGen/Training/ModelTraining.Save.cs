using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Planning;

namespace ShardGen.Training;

// Save: every device's slices gathered into one Hugging Face checkpoint, loadable on any device count.
public sealed partial class ModelTraining
{
    /// <summary>
    /// Writes the model as a Hugging Face checkpoint into <paramref name="directory"/> (created if missing):
    /// config.json (the one it was loaded with, or one made from its layers) and model.safetensors (F32) with the names
    /// it was loaded from, LLaMA's [out, in] weights transposed back, GPT-2's q, k and v in one c_attn, a tied head once.
    /// Each device's slices are downloaded and placed by their region. Files are written to temporary names and renamed;
    /// a folder that cannot be written fails before anything is.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var plan = _core.Plan;
        if (IsFloatModel)
            throw new NotSupportedException($"Save writes a language model's Hugging Face checkpoint, but {plan.ModelName} is a float[,] model of linear layers, which has no checkpoint layout: Save is for language models.");
        if (_core.Mesh.Devices.Any(d => !d.IsLocal))
            throw new NotSupportedException($"Save gathers every device's slices in this process, but {plan.ModelName}'s mesh has devices of other processes (MPI): train in process to save.");
        var layers = plan.Layers.Select(l => l.Spec).ToList();
        var origin = _core.Origin;
        var family = origin?.Config.Family ?? FamilyOf(plan.ModelName, layers);
        var at = LanguageModelLayers.Of(layers);
        var maps = HuggingFaceNames.For(family, layers, at, origin?.Gpt2Prefix ?? "transformer.");
        CheckWritable(directory);
        if (File.Exists(Path.Combine(directory, Checkpoint.IndexFile)))
            throw new IOException($"{directory} holds a sharded checkpoint ({Checkpoint.IndexFile}), which a loader would read instead of the saved {Checkpoint.SingleFile}: save into another folder.");

        var tensors = Gather(maps);
        SafetensorsWriter.Write(Path.Combine(directory, Checkpoint.SingleFile), tensors, SafetensorsDType.F32);
        string config = Path.Combine(directory, Checkpoint.ConfigFile);
        if (origin is not null) WriteReplacing(config, origin.ConfigJson);
        else RandomCheckpoint.WriteConfig(config, ConfigOf(layers, at, family), Spec(layers, at).QkvBias ? "qwen2" : family == ModelFamily.Llama ? "llama" : "gpt2", layers[at.Head].Tied);
    }

    // The tensors in name-table order (c_attn's three column ranges are one tensor), filled from the slices.
    private List<NamedTensor> Gather(List<TensorMapping> maps)
    {
        var tensors = new List<NamedTensor>();
        var covered = new Dictionary<string, bool[]>(StringComparer.Ordinal);
        var byKey = new Dictionary<WeightKey, (TensorMapping Map, NamedTensor Tensor)>();
        foreach (var map in maps)
        {
            if (tensors.Count == 0 || tensors[^1].Name != map.Name)
            {
                long elements = map.StoredShape.Aggregate(1L, (a, b) => a * b);
                tensors.Add(new NamedTensor(map.Name, map.StoredShape, new float[elements]));
                covered[map.Name] = new bool[elements];
            }
            byKey[map.Key] = (map, tensors[^1]);
        }

        var host = new float[Parameters.Count == 0 ? 0 : Parameters.Max(p => p.Value.Elements)];
        foreach (var slice in Parameters)
        {
            if (!byKey.TryGetValue(slice.Key, out var target))
                throw new InvalidOperationException($"Model '{_core.Plan.ModelName}': parameter {slice.Key} has no Hugging Face name; it cannot be saved.");
            var (map, tensor) = target;
            slice.Value.Device.Download(slice.Value, host, slice.Cols);
            long storedCols = map.StoredShape[^1];
            var mask = covered[map.Name];
            for (int r = 0; r < slice.Rows; r++)
                for (int c = 0; c < slice.Cols; c++)
                {
                    long row = slice.Row0 + r, col = slice.Col0 + c;
                    // [out, in] on file: logical (row = in, col = out) is stored at [col, row].
                    long at = map.Transposed ? col * storedCols + row : row * storedCols + map.Col0 + col;
                    tensor.Data[at] = host[r * slice.Cols + c];
                    mask[at] = true;
                }
        }
        foreach (var (name, mask) in covered)
            if (Array.IndexOf(mask, false) is int missing and >= 0)
                throw new InvalidOperationException($"Model '{_core.Plan.ModelName}': element {missing} of '{name}' is on no device's slice; the checkpoint would be incomplete.");
        return tensors;
    }

    // A probe file, so a folder that cannot be written fails before the downloads and before any file of the checkpoint.
    private static void CheckWritable(string directory)
    {
        try
        {
            if (File.Exists(directory)) throw new IOException("it is a file, not a folder");
            Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, $".write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new IOException($"Cannot save into {directory}: {e.Message.Split('\n')[0].Trim().TrimEnd('.')}. Choose a folder you can write.", e);
        }
    }

    private static void WriteReplacing(string path, byte[] bytes)
    {
        string temporary = path + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    private static TransformerSpec Spec(List<LayerSpec> layers, LanguageModelLayers at) => layers[at.Stack].Block!;

    // A model created from weights (not loaded) has no config.json: its layers must be one of the two families.
    private static ModelFamily FamilyOf(string model, List<LayerSpec> layers)
    {
        var at = LanguageModelLayers.Of(layers);
        var stack = layers[at.Stack];
        var b = stack.Block!;
        if (at.Positions < 0 && b.Norm == NormKind.RmsNorm && b.Mlp == MlpKind.Gated && b.Rotary && !stack.HasBias && stack.Activation == Activation.Silu)
            return ModelFamily.Llama;
        if (at.Positions >= 0 && b.Norm == NormKind.LayerNorm && b.Mlp == MlpKind.Plain && !b.Rotary && stack.HasBias && stack.Activation == Activation.GeluTanh)
            return ModelFamily.Gpt2;
        throw new NotSupportedException($"Model '{model}' was created from weights, and its layers are neither LLaMA's (RMSNorm, gated SiLU MLP, rotary, no position table) nor GPT-2's (LayerNorm, GELU-tanh MLP with biases, learned positions): there is no Hugging Face config.json to save it with.");
    }

    private static RandomCheckpointSpec ConfigOf(List<LayerSpec> layers, LanguageModelLayers at, ModelFamily family)
    {
        var stack = layers[at.Stack];
        var b = stack.Block!;
        return new RandomCheckpointSpec(family, layers[at.Embedding].InFeatures, stack.InFeatures, b.Heads, b.KvHeads, b.FfnHidden, b.Layers)
        {
            Positions = at.Positions >= 0 ? layers[at.Positions].InFeatures : 2048,
            NormEpsilon = b.Epsilon,
            RopeTheta = b.RopeTheta,
        };
    }
}
