using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Planning;
using ShardGen.Training;

namespace ShardGen.Runtime;

/// <summary>
/// What a generated language model's <c>Create</c> and <c>Load</c> call: plan (the SHARD rules, as ShardingException),
/// check every logical tensor's presence and shape against the plan before any device memory is touched, then upload
/// each device's own slices.
/// </summary>
public static class LanguageModelLoader
{
    /// <summary>
    /// Plans <paramref name="layers"/> (every size known) on <paramref name="mesh"/> and uploads <paramref name="weights"/>.
    /// Throws <see cref="ShardingException"/> naming every missing or misshaped tensor (its name in the source, expected and
    /// actual shapes) before anything is allocated.
    /// </summary>
    public static ShardedModelCore Create(DeviceMesh mesh, string model, IReadOnlyList<LayerSpec> layers, int declaredDevices,
        bool sequenceParallel, IWeightSource weights)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(weights);
        if (layers.FirstOrDefault(l => l.IsOpen) is { } open)
            throw new ShardingException(
                $"Cannot create '{model}': layer '{open.Name}' leaves a size to config.json (0 in its attribute); load it from a checkpoint with Load, " +
                "or pass the layers with every size set.");
        var plan = ModelPlan.Create(model, layers, mesh.Size, declaredDevices, sequenceParallel: sequenceParallel);
        CheckWeights(plan, weights);
        return Upload(mesh, plan, weights);
    }

    /// <summary>
    /// Opens the Hugging Face checkpoint in <paramref name="checkpointDirectory"/>, fills the sizes <paramref name="declared"/>
    /// leaves open from its config.json, plans (the SHARD rules), checks every tensor's presence, dtype and shape, and only
    /// then allocates and uploads each device's own slices, read from the memory-mapped files. On Linux, where every device
    /// of this process computes on host memory (CPU devices; an MPI rank's own CPU device), F32 matrices are not copied:
    /// each device's slices are views of a private mapping of the file, in the file's orientation (<see cref="MappedWeights"/>;
    /// training's writes copy the pages they touch, the file is never modified). <paramref name="copyWeights"/> copies
    /// every slice into device memory instead, as on other devices: for a checkpoint file that will be overwritten or
    /// truncated while the model lives (a truncated mapped file kills the process with SIGBUS). <paramref name="keepBFloat16"/>
    /// views BF16 matrices in place too, as bfloat16 (half the bytes every decoded token reads; GEMMs widen them exactly),
    /// instead of widening them into float32 copies: such weights are read-only (training refuses them), and it needs devices
    /// that compute on host memory.
    /// </summary>
    public static ShardedModelCore Load(DeviceMesh mesh, string model, IReadOnlyList<LayerSpec> declared, int declaredDevices,
        bool sequenceParallel, string checkpointDirectory, bool copyWeights = false, bool keepBFloat16 = false)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(declared);
        ArgumentNullException.ThrowIfNull(checkpointDirectory);
        if (keepBFloat16 && copyWeights)
            throw new ArgumentException($"Cannot load '{model}' with both copyWeights and keepBFloat16: BF16 weights are kept by viewing the file in place; choose one.", nameof(keepBFloat16));
        if (keepBFloat16 && mesh.Devices.FirstOrDefault(d => d.IsLocal && !d.AdoptsHostMemory) is { } device)
            throw new ArgumentException($"Cannot load '{model}' with keepBFloat16 on {device.Name}: BF16 weights are kept only on devices that compute on host memory (CPU devices, MPI ranks' CPU devices); load without it to widen them into float32.", nameof(keepBFloat16));
        using var checkpoint = Checkpoint.Open(checkpointDirectory);
        var layers = ConfigResolver.Resolve(declared, checkpoint.Config);
        var plan = ModelPlan.Create(model, layers, mesh.Size, declaredDevices, sequenceParallel: sequenceParallel);
        var weights = new CheckpointWeights(checkpoint, layers);
        CheckWeights(plan, weights);
        using var mapped = !copyWeights && mesh.Devices.All(d => !d.IsLocal || d.AdoptsHostMemory) ? new MappedWeights(weights, keepBFloat16) : null;
        var core = Upload(mesh, plan, (IWeightSource?)mapped ?? weights);
        // Saved back with the names and config.json it came with (ModelTraining.Save).
        core.Origin = new CheckpointOrigin(checkpoint.Config, System.IO.File.ReadAllBytes(checkpoint.Config.Path), weights.Gpt2Prefix);
        return core;
    }

    /// <summary>
    /// Checks that <paramref name="resolved"/> is <paramref name="declared"/> with its open sizes filled: the same layers in
    /// the same order (the generated Forward's), every pinned size unchanged.
    /// </summary>
    public static void CheckResolved(string model, IReadOnlyList<LayerSpec> declared, IReadOnlyList<LayerSpec> resolved)
    {
        ArgumentNullException.ThrowIfNull(declared);
        ArgumentNullException.ThrowIfNull(resolved);
        bool same = declared.Count == resolved.Count;
        for (int i = 0; same && i < declared.Count; i++)
        {
            LayerSpec d = declared[i], r = resolved[i];
            same = d.Name == r.Name && d.Strategy == r.Strategy && (d.Block is null) == (r.Block is null)
                && Pinned(d.InFeatures, r.InFeatures) && Pinned(d.OutFeatures, r.OutFeatures)
                && (d.Block is null || Pinned(d.Block.Heads, r.Block!.Heads) && Pinned(d.Block.KvHeads, r.Block.KvHeads)
                    && Pinned(d.Block.FfnHidden, r.Block.FfnHidden) && Pinned(d.Block.Layers, r.Block.Layers));
            if (!same)
                throw new ArgumentException(
                    $"Cannot create '{model}': layer {i} is '{r.Name}' ({r.StrategyText}) but the model declares '{d.Name}' ({d.StrategyText}) with other sizes; " +
                    "pass the model's LayerSpecs with only their open sizes (0) filled in.", nameof(resolved));
        }
        if (!same)
            throw new ArgumentException($"Cannot create '{model}': it has {declared.Count} layers but {resolved.Count} were given.", nameof(resolved));
    }

    private static bool Pinned(int declared, int resolved) => declared == 0 || declared == resolved;

    /// <summary>Throws one <see cref="ShardingException"/> listing every tensor that is missing or has another shape than the plan's.</summary>
    public static void CheckWeights(ModelPlan plan, IWeightSource weights)
    {
        var problems = new List<string>();
        foreach (var t in LanguageModelWeights.Expected(plan))
        {
            var shape = weights.Shape(t.Key);
            if (shape is null)
                problems.Add($"tensor '{weights.Name(t.Key)}' ({Describe(plan, t.Key)}) is missing; expected [{t.Rows}, {t.Cols}].");
            else if (shape.Value.Rows != t.Rows || shape.Value.Cols != t.Cols)
                problems.Add($"tensor '{weights.Name(t.Key)}' ({Describe(plan, t.Key)}) is [{shape.Value.Rows}, {shape.Value.Cols}] but the model expects [{t.Rows}, {t.Cols}].");
        }
        if (problems.Count > 0)
            throw new ShardingException($"Cannot create '{plan.ModelName}': " + string.Join(" ", problems.Select((p, i) => i == 0 ? char.ToUpperInvariant(p[0]) + p[1..] : p)));
    }

    private static string Describe(ModelPlan plan, WeightKey key)
    {
        string layer = plan.Layers[key.Layer].Name;
        return key.Block >= 0 ? $"{layer}[{key.Block}] {key.Role}, [in, out]" : $"{layer} {key.Role}";
    }

    /// <summary>Uploads every layer's shards (already checked), freeing what was uploaded when one fails.</summary>
    private static ShardedModelCore Upload(DeviceMesh mesh, ModelPlan plan, IWeightSource weights)
    {
        var recorder = new SliceRecorder(weights);
        var layers = UploadLayers(mesh, plan, recorder);
        return new ShardedModelCore(mesh, plan, layers) { Slices = recorder.Slices };
    }

    /// <summary>
    /// Zeros shaped and sharded exactly like the model's layers (same plan, same loader), with their slices: a model's
    /// gradients, in the orientation of <paramref name="parameters"/> (the model's slices: [out, in] where viewed so in
    /// place). Slice i of the result lines up with slice i of the model's <see cref="ShardedModelCore.Slices"/>.
    /// </summary>
    internal static (IShardedLayer[] Layers, IReadOnlyList<ParameterSlice> Slices) UploadZeros(DeviceMesh mesh, ModelPlan plan, IReadOnlyList<ParameterSlice> parameters)
    {
        var recorder = new SliceRecorder(ZeroWeights.Like(parameters));
        return (UploadLayers(mesh, plan, recorder), recorder.Slices);
    }

    private static IShardedLayer[] UploadLayers(DeviceMesh mesh, ModelPlan plan, IWeightSource weights)
    {
        var layers = new IShardedLayer[plan.Layers.Count];
        try
        {
            ShardedEmbedding? tokens = null;
            for (int i = 0; i < layers.Length; i++)
            {
                layers[i] = plan.Layers[i] switch
                {
                    Embedding e => ShardedEmbedding.Load(mesh, e, weights),
                    TransformerStack s => ShardedStack.Load(mesh, s, weights),
                    TransformerBlock b => ShardedTransformerBlock.Load(mesh, b, weights, -1),
                    Norm n => ShardedNorm.Load(mesh, n, weights),
                    Linear { Strategy: ParallelStrategy.LmHead } h => ShardedLinear.LoadHead(mesh, h, weights, tokens),
                    var other => throw new ShardingException($"Layer '{other.Name}' ({other.Spec.StrategyText}) cannot be read from a weight source."),
                };
                if (layers[i] is ShardedEmbedding { Info.IsVocabParallel: true } e2) tokens = e2;
            }
            return layers;
        }
        catch
        {
            for (int i = layers.Length - 1; i >= 0; i--) layers[i]?.Dispose();
            throw;
        }
    }
}
