using System;
using System.IO;
using ShardGen.Generation;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// Checkpoints written by the PyTorch reference, loaded by the generated Load (sizes from config.json, sharded on
/// load), give the reference's float64 logits (Hugging Face conventions) within 1e-4 of the largest logit.
/// </summary>
public sealed class TorchLogitsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-logits-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [TorchTheory]
    [InlineData("llama", "F32", 1, false, 1)]
    [InlineData("llama", "BF16", 2, true, 2)]
    [InlineData("qwen2", "F32", 3, false, 4)]
    [InlineData("mistral", "BF16", 1, true, 1)]
    [InlineData("gpt2", "F32", 1, true, 3)]
    [InlineData("gpt2", "BF16", 2, false, 4)]
    public void Loaded_checkpoints_give_the_reference_logits(string modelType, string dtype, int shards, bool tied, int devices)
    {
        bool gpt2 = modelType == "gpt2";
        string dir = TorchReference.Make(Path.Combine(_root, "ckpt"), "--model-type", modelType, "--dtype", dtype, "--shards", shards.ToString(),
            "--tied", tied ? "1" : "0", "--vocab", "1003", "--hidden", "48", "--heads", "12", "--kv-heads", gpt2 ? "12" : "4",
            "--ffn", "96", "--layers", "2", "--positions", "40", "--seed", (devices * 10 + shards).ToString());
        int[] ids = [1, 1002, 7, 500, 3, 999, 42, 0, 12];
        int[] lengths = [5, 4];
        var expected = TorchReference.Logits(dir, ids, lengths);

        using var mesh = DeviceMesh.CreateCpu(devices);
        float[,] actual;
        if (gpt2) { using var model = Gpt2.Load(mesh, dir); actual = model.Forward(ids, lengths); }
        else { using var model = Llama.Load(mesh, dir); actual = model.Forward(ids, lengths); }

        Assert.Equal((expected.GetLength(0), expected.GetLength(1)), (actual.GetLength(0), actual.GetLength(1)));
        double scale = 0, worst = 0;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int t = 0; t < ids.Length; t++)
            for (int v = 0; v < 1003; v++)
                worst = Math.Max(worst, Math.Abs(actual[t, v] - expected[t, v]));
        Assert.True(worst <= 1e-4 * scale, $"largest difference {worst:E2} against largest logit {scale:F3}");
    }

    [TorchTheory]
    [InlineData("qwen2", 2)]
    [InlineData("gpt2", 3)]
    public void Greedy_decoding_with_the_cache_gives_the_reference_ids(string modelType, int devices)
    {
        bool gpt2 = modelType == "gpt2";
        string dir = TorchReference.Make(Path.Combine(_root, "ckpt"), "--model-type", modelType, "--vocab", "1003", "--hidden", "48", "--heads", "12",
            "--kv-heads", gpt2 ? "12" : "2", "--ffn", "96", "--layers", "2", "--positions", "40", "--seed", "77");
        int[] prompt = [5, 900, 17, 33];
        int[] expected = TorchReference.Generate(dir, prompt, 10);   // full recompute per token, float64

        using var mesh = DeviceMesh.CreateCpu(devices);
        var options = new GenerationOptions { MaxNewTokens = 10 };
        GenerationResult result;
        if (gpt2) { using var model = Gpt2.Load(mesh, dir); result = TextGenerator.Generate(model, prompt, options); }
        else { using var model = Llama.Load(mesh, dir); result = TextGenerator.Generate(model, prompt, options); }
        Assert.Equal(expected, result.NewIds);
    }
}
