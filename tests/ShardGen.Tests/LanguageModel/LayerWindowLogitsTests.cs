using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.LanguageModel;

/// <summary>
/// Qwen2 checkpoints whose layers differ in their window: use_sliding_window with max_window_layers in the middle of
/// the stack (layers below it full, the rest windowed), and layer_types written out, against
/// tests/reference/hf_reference.py (PyTorch float64; its layer_windows follows transformers' configuration_qwen2.py)
/// on 1, 2 and 4 CPU devices; decoding through the KV cache against recomputing the whole sequence and PyTorch's
/// greedy ids.
/// </summary>
public sealed class LayerWindowLogitsTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-lw-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A 4-layer Qwen2 checkpoint; the weights depend on the seed only, so folders of one seed differ in config alone.</summary>
    private string Qwen2(string name, int seed, params string[] windows) => TorchReference.Make(Path.Combine(_root, name), [
        "--model-type", "qwen2", "--heads", "4", "--kv-heads", "2", "--hidden", "48", "--layers", "4", "--seed", seed.ToString(), .. windows]);

    /// <summary>Layers 0 and 1 full, 2 and 3 windowed.</summary>
    private string Mixed(string name, int seed, int window) =>
        Qwen2(name, seed, "--use-sliding-window", "--sliding-window", window.ToString(), "--max-window-layers", "2");

    private static int[] Ids(int seed, int count) { var rng = new Random(seed); return Enumerable.Range(0, count).Select(_ => rng.Next(1003)).ToArray(); }

    private static void AssertClose(float[,] actual, double[,] expected, string what)
    {
        double error = ReferenceMath.RelativeError(actual, expected);
        Assert.True(error < Tolerance, $"{what}: relative error {error:E2} ≥ {Tolerance:E0}");
    }

    private static void AssertApart(float[,] actual, double[,] other, string what)
    {
        double gap = ReferenceMath.RelativeError(actual, other);
        Assert.True(gap > 1e-3, $"{what} gives logits within {gap:E2}, so the test tests nothing");
    }

    [TorchTheory]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(4, 3)]
    [InlineData(2, 1)]
    public void FullLowerLayersAndWindowedUpperOnesMatchPyTorch(int devices, int window)
    {
        int seed = 50 + devices + window;
        string dir = Mixed($"mixed{window}-{devices}", seed, window);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Llama.Load(mesh, dir);
        var ids = Ids(devices, 11);
        var logits = model.Forward(ids);
        AssertClose(logits, TorchReference.Logits(dir, ids, null), $"window {window} above layer 2 on {devices}");
        AssertClose(model.Forward(ids, [4, 7]), TorchReference.Logits(dir, ids, [4, 7]), $"window {window} above layer 2, packed, on {devices}");
        // Both kinds of layer matter: every layer full, or every layer windowed, gives other logits.
        AssertApart(logits, TorchReference.Logits(Qwen2($"full{window}-{devices}", seed), ids, null), "every layer full");
        string windowed = Qwen2($"all{window}-{devices}", seed, "--use-sliding-window", "--sliding-window", window.ToString(), "--max-window-layers", "0");
        AssertApart(logits, TorchReference.Logits(windowed, ids, null), "every layer windowed");
    }

    /// <summary>layer_types overrides max_window_layers (4 here: by the rule every layer would be full).</summary>
    [TorchTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void ExplicitLayerTypesMatchPyTorch(int devices)
    {
        int seed = 70 + devices;
        string dir = Qwen2($"types-{devices}", seed, "--use-sliding-window", "--sliding-window", "2", "--max-window-layers", "4",
            "--layer-types", "sliding,full,sliding,full");
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Llama.Load(mesh, dir);
        var ids = Ids(devices + 7, 10);
        var logits = model.Forward(ids);
        AssertClose(logits, TorchReference.Logits(dir, ids, null), $"layer_types on {devices}");
        AssertClose(model.Forward(ids, [6, 4]), TorchReference.Logits(dir, ids, [6, 4]), $"layer_types, packed, on {devices}");
        string byRule = Qwen2($"rule-{devices}", seed, "--use-sliding-window", "--sliding-window", "2", "--max-window-layers", "4");
        AssertApart(logits, TorchReference.Logits(byRule, ids, null), "max_window_layers without layer_types");
    }

    /// <summary>Prefill then one token at a time through the cache: every step equals the full recompute's last row; the ids equal PyTorch's greedy ones.</summary>
    [TorchTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void CachedDecodingEqualsFullRecomputeAndPyTorchGreedy(int devices)
    {
        string dir = Mixed($"decode-{devices}", 90 + devices, 3);
        int[] prompt = Ids(100 + devices, 5);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Llama.Load(mesh, dir);
        ILanguageModel lm = model;
        using var cache = lm.CreateCache(16);
        var sequence = new List<int>(prompt);
        var logits = lm.Forward(prompt, cache);
        var generated = new List<int>();
        for (int n = 0; n < 7; n++)
        {
            var full = model.Forward(sequence.ToArray());
            int vocab = full.GetLength(1);
            var step = new double[1, vocab];
            var cached = new float[1, vocab];
            for (int v = 0; v < vocab; v++)
            {
                step[0, v] = full[full.GetLength(0) - 1, v];
                cached[0, v] = logits[logits.GetLength(0) - 1, v];
            }
            Assert.True(ReferenceMath.RelativeError(cached, step) < 1e-5, $"step {n}: cached logits differ from the full recompute");
            int best = 0;
            for (int v = 1; v < vocab; v++) if (cached[0, v] > cached[0, best]) best = v;
            generated.Add(best);
            sequence.Add(best);
            logits = lm.Forward([best], cache);
        }
        Assert.Equal(TorchReference.Generate(dir, prompt, 7), generated.ToArray());
    }
}
