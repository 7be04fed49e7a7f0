using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.LanguageModel;

/// <summary>
/// Mistral checkpoints with a sliding_window smaller than the prompt (tests/reference/hf_reference.py make
/// --sliding-window, PyTorch float64 with transformers' mask: query i sees keys i − W &lt; j ≤ i) on 1, 2 and 4 CPU
/// devices; decoding through the KV cache against recomputing the whole sequence; a window wider than every sequence
/// against no window at all.
/// </summary>
public sealed class SlidingWindowLogitsTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-sw-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Make(string name, params string[] options) => TorchReference.Make(Path.Combine(_root, name), options);

    private string Mistral(string name, int? window, int seed) => Make(name, [
        "--model-type", "mistral", "--heads", "4", "--kv-heads", "2", "--hidden", "48", "--seed", seed.ToString(),
        .. window is { } w ? new[] { "--sliding-window", w.ToString() } : []]);

    private static int[] Ids(int seed, int count) { var rng = new Random(seed); return Enumerable.Range(0, count).Select(_ => rng.Next(1003)).ToArray(); }

    private static void AssertClose(float[,] actual, double[,] expected, string what)
    {
        double error = ReferenceMath.RelativeError(actual, expected);
        Assert.True(error < Tolerance, $"{what}: relative error {error:E2} ≥ {Tolerance:E0}");
    }

    [TorchTheory]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(4, 3)]
    [InlineData(2, 1)]
    [InlineData(4, 5)]
    public void WindowSmallerThanThePromptMatchesPyTorch(int devices, int window)
    {
        string dir = Mistral($"w{window}-{devices}", window, seed: devices + window);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Llama.Load(mesh, dir);
        var ids = Ids(devices, 11);
        AssertClose(model.Forward(ids), TorchReference.Logits(dir, ids, null), $"window {window} on {devices}");
        AssertClose(model.Forward(ids, [4, 7]), TorchReference.Logits(dir, ids, [4, 7]), $"window {window} packed on {devices}");
        // The window matters here: PyTorch without it gives other logits.
        string plain = Mistral($"plain{window}-{devices}", null, seed: devices + window);
        double gap = ReferenceMath.RelativeError(model.Forward(ids), TorchReference.Logits(plain, ids, null));
        Assert.True(gap > 1e-3, $"window {window}: the same weights without a window give logits within {gap:E2}, so the test tests nothing");
    }

    /// <summary>Prefill then one token at a time through the cache: every step's logits equal the full recompute's last row.</summary>
    [TorchTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void CachedDecodingEqualsFullRecomputeAndPyTorchGreedy(int devices)
    {
        string dir = Mistral($"decode-{devices}", 3, seed: 20 + devices);
        int[] prompt = Ids(30 + devices, 5);
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
            int last = full.GetLength(0) - 1, vocab = full.GetLength(1);
            var step = new double[1, vocab];
            for (int v = 0; v < vocab; v++) step[0, v] = full[last, v];
            var cached = new float[1, vocab];
            for (int v = 0; v < vocab; v++) cached[0, v] = logits[logits.GetLength(0) - 1, v];
            Assert.True(ReferenceMath.RelativeError(cached, step) < 1e-5, $"step {n}: cached logits differ from the full recompute");
            int best = 0;
            for (int v = 1; v < vocab; v++) if (cached[0, v] > cached[0, best]) best = v;
            generated.Add(best);
            sequence.Add(best);
            logits = lm.Forward([best], cache);
        }
        Assert.Equal(TorchReference.Generate(dir, prompt, 7), generated.ToArray());
    }

    [TorchFact]
    public void AWindowWiderThanEverySequenceGivesTheLogitsOfNone()
    {
        string wide = Mistral("wide", 64, seed: 7), none = Mistral("none", null, seed: 7);
        using var mesh = DeviceMesh.CreateCpu(2);
        using var withWindow = Llama.Load(mesh, wide);
        using var without = Llama.Load(mesh, none);
        var ids = Ids(8, 12);
        Assert.Equal(without.Forward(ids, [5, 7]), withWindow.Forward(ids, [5, 7]));
        AssertClose(withWindow.Forward(ids), TorchReference.Logits(none, ids, null), "window 64 against PyTorch without one");
    }
}
