using System;
using System.IO;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.LanguageModel;

/// <summary>
/// The README's family classes loaded from random Hugging Face checkpoints (tests/reference/hf_reference.py) on 1–4 CPU
/// devices, against the PyTorch reference's float64 logits of the same files: LLaMA (grouped-query), Mistral, Qwen2
/// (q/k/v biases), GPT-2 (fused c_attn, tied head); F32 and BF16 files; one file and a sharded index; vocabulary 1003.
/// </summary>
public sealed class CheckpointLogitsTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-lm-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Make(string name, params string[] options) => TorchReference.Make(Path.Combine(_root, name), options);

    private static void AssertLogits(Func<int[], int[]?, float[,]> forward, string checkpoint, int[] ids, int[]? lengths, string what)
    {
        var expected = TorchReference.Logits(checkpoint, ids, lengths);
        double error = ReferenceMath.RelativeError(forward(ids, lengths), expected);
        Assert.True(error < Tolerance, $"{what}: relative error {error:E2} against PyTorch ≥ {Tolerance:E0}");
    }

    private static int[] Ids(int seed, int count) { var rng = new Random(seed); return Enumerable.Range(0, count).Select(_ => rng.Next(1003)).ToArray(); }

    [TorchTheory]
    [InlineData("llama", "F32", 1, 1)]
    [InlineData("llama", "F32", 1, 2)]
    [InlineData("llama", "BF16", 3, 4)]
    [InlineData("mistral", "BF16", 1, 2)]
    [InlineData("qwen2", "F32", 2, 4)]
    [InlineData("qwen2", "BF16", 1, 1)]
    public void LlamaFamilyMatchesPyTorch(string modelType, string dtype, int shards, int devices)
    {
        string dir = Make($"{modelType}-{dtype}-{shards}", "--model-type", modelType, "--dtype", dtype, "--shards", shards.ToString(),
            "--heads", "4", "--kv-heads", "2", "--hidden", "64", "--seed", devices.ToString());
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Llama.Load(mesh, dir);
        Assert.Equal(1003, model.Vocab);
        var ids = Ids(devices, 9);
        AssertLogits(model.Forward, dir, ids, null, $"{modelType} {dtype} on {devices}");
        AssertLogits(model.Forward, dir, ids, new[] { 4, 5 }, $"{modelType} {dtype} packed on {devices}");
    }

    [TorchTheory]
    [InlineData("F32", 1, 1)]
    [InlineData("F32", 1, 3)]
    [InlineData("BF16", 2, 2)]
    [InlineData("F32", 3, 4)]
    public void Gpt2MatchesPyTorch(string dtype, int shards, int devices)
    {
        string dir = Make($"gpt2-{dtype}-{shards}", "--model-type", "gpt2", "--dtype", dtype, "--shards", shards.ToString(),
            "--heads", "12", "--hidden", "48", "--ffn", "192", "--seed", (10 + devices).ToString());
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Gpt2.Load(mesh, dir);
        Assert.True(model.Head.Tied, "GPT-2 ties its head to the embedding");
        var ids = Ids(devices, 10);
        AssertLogits(model.Forward, dir, ids, new[] { 6, 4 }, $"gpt2 {dtype} on {devices}");
    }

    [TorchTheory]
    [InlineData(2)]
    [InlineData(3)]
    public void TiedLlamaMatchesPyTorch(int devices)
    {
        string dir = Make($"tied-{devices}", "--model-type", "llama", "--tied", "true", "--heads", "6", "--kv-heads", "6", "--hidden", "48", "--seed", "5");
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Llama.Load(mesh, dir);
        Assert.True(model.Head.Tied);
        AssertLogits(model.Forward, dir, Ids(7, 8), null, $"tied llama on {devices}");
    }

    /// <summary>Greedy generation with the KV cache gives the ids PyTorch gives by recomputing the whole sequence.</summary>
    [TorchFact]
    public void CachedGreedyDecodingMatchesPyTorch()
    {
        string dir = Make("greedy", "--model-type", "llama", "--heads", "4", "--kv-heads", "2", "--seed", "9");
        int[] prompt = Ids(3, 5);
        var expected = TorchReference.Generate(dir, prompt, 6);
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Llama.Load(mesh, dir);
        ILanguageModel lm = model;
        using var cache = lm.CreateCache(16);
        var logits = lm.Forward(prompt, cache);
        var generated = new System.Collections.Generic.List<int>();
        for (int n = 0; n < 6; n++)
        {
            int row = logits.GetLength(0) - 1, best = 0;
            for (int v = 1; v < logits.GetLength(1); v++) if (logits[row, v] > logits[row, best]) best = v;
            generated.Add(best);
            logits = lm.Forward(new[] { best }, cache);
        }
        Assert.Equal(expected, generated.ToArray());
    }

    [TorchFact]
    public void HeadsThatDoNotSplitAreRefusedWithTheCountsThatWork()
    {
        string dir = Make("heads", "--model-type", "llama", "--heads", "4", "--kv-heads", "2");
        using var mesh = DeviceMesh.CreateCpu(3);
        long before = mesh.Devices.Sum(d => d.AllocatedBytes);
        var e = Assert.Throws<ShardingException>(() => Llama.Load(mesh, dir));
        Assert.Contains("4 attention heads", e.Message);
        Assert.Contains("1, 2, 4", e.Message);
        Assert.Equal(before, mesh.Devices.Sum(d => d.AllocatedBytes));
    }
}
