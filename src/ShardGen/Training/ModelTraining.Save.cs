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
    /// a folder that cannot be written fails before anything is. On MPI every process of the job calls it: device 0 of
    /// the first replica gathers its replica's slices and writes, and every process returns, or throws, alike.
    /// </summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var plan = _core.Plan;
        if (IsFloatModel)
            throw new NotSupportedException($"Save writes a language model's Hugging Face checkpoint, but {plan.ModelName} is a float[,] model of linear layers, which has no checkpoint layout: Save is for language models.");
        var processes = _core.Mesh as IProcessMesh;
        if (processes is null && _core.Mesh.Devices.Any(d => !d.IsLocal))
            throw new NotSupportedException($"Save gathers every device's slices, but {plan.ModelName}'s mesh has devices of other processes and no way to reach them: use an MpiDeviceMesh.");
        var layers = plan.Layers.Select(l => l.Spec).ToList();
        var origin = _core.Origin;
        var family = origin?.Config.Family ?? FamilyOf(plan.ModelName, layers);
        var at = LanguageModelLayers.Of(layers);
        var maps = HuggingFaceNames.For(family, layers, at, origin?.Gpt2Prefix ?? "transformer.");
        if (processes is not null)
        {
            SaveAcrossProcesses(directory, processes, maps, tensors => WriteFiles(directory, tensors, layers, at, family));
            return;
        }
        CheckTarget(directory);
        var assembly = new CheckpointAssembly(plan.ModelName, maps);
        PlaceLocalSlices(assembly, Parameters);
        WriteFiles(directory, assembly.Tensors(), layers, at, family);
    }

    // model.safetensors, then config.json: each to a temporary name, renamed.
    private void WriteFiles(string directory, List<NamedTensor> tensors, List<LayerSpec> layers, LanguageModelLayers at, ModelFamily family)
    {
        SafetensorsWriter.Write(Path.Combine(directory, Checkpoint.SingleFile), tensors, SafetensorsDType.F32);
        string config = Path.Combine(directory, Checkpoint.ConfigFile);
        if (_core.Origin is { } origin) WriteReplacing(config, origin.ConfigJson);
        else RandomCheckpoint.WriteConfig(config, ConfigOf(layers, at, family), Spec(layers, at).QkvBias ? "qwen2" : family == ModelFamily.Llama ? "llama" : "gpt2", layers[at.Head].Tied);
    }

    // A folder that can take the checkpoint: writable, and no sharded index a loader would read instead.
    private static void CheckTarget(string directory)
    {
        CheckWritable(directory);
        if (File.Exists(Path.Combine(directory, Checkpoint.IndexFile)))
            throw new IOException($"{directory} holds a sharded checkpoint ({Checkpoint.IndexFile}), which a loader would read instead of the saved {Checkpoint.SingleFile}: save into another folder.");
    }

    // Downloads each slice of this process's devices and places it by its region.
    private static void PlaceLocalSlices(CheckpointAssembly assembly, IEnumerable<ParameterSlice> slices)
    {
        var local = slices.Where(s => s.Value.Device.IsLocal).ToList();
        var host = new float[local.Count == 0 ? 0 : local.Max(p => p.Value.Elements)];
        foreach (var slice in local)
        {
            slice.Download(host);
            assembly.Place(slice.Key, slice.Row0, slice.Col0, slice.Rows, slice.Cols, host.AsSpan(0, slice.Value.Elements));
        }
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
