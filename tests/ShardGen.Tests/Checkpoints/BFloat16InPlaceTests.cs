using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using ShardGen.Checkpoints;
using ShardGen.Generation;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// BF16 checkpoints loaded with <c>keepBFloat16: true</c>: the matrices stay bfloat16, viewed in the file's mapping
/// (half the device bytes of widening them), and every GEMM, lookup and the head widen them exactly, so the logits are
/// PyTorch's (float64 on the same BF16 values) within 1e-4 and the greedy ids of cached decoding are its full
/// recompute's. Such weights are read-only: training refuses them before touching anything. Fresh checkpoints each run.
/// </summary>
public sealed class BFloat16InPlaceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-bf16-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static ILanguageModel Load(bool gpt2, DeviceMesh mesh, string dir, bool keep) =>
        gpt2 ? Gpt2.Load(mesh, dir, keepBFloat16: keep) : Llama.Load(mesh, dir, keepBFloat16: keep);

    private static float[,] Forward(ILanguageModel model, int[] ids, int[] lengths) =>
        model is Llama llama ? llama.Forward(ids, lengths) : ((Gpt2)model).Forward(ids, lengths);

    [TorchTheory]
    [InlineData("llama", 1, false, 1)]
    [InlineData("llama", 2, true, 2)]     // tied: the head is the bf16 embedding table, transposed
    [InlineData("qwen2", 1, false, 4)]    // q/k/v biases; a vocabulary of 1003 on four devices
    [InlineData("mistral", 2, false, 2)]  // sharded index
    [InlineData("gpt2", 1, true, 3)]      // c_attn's q/k/v column ranges, strided bf16 [in, out]; 1003 rows on three devices
    [InlineData("gpt2", 2, false, 4)]     // an untied lm_head [vocab, hidden]
    public void Weights_kept_in_BF16_give_the_reference_logits(string modelType, int shards, bool tied, int devices)
    {
        bool gpt2 = modelType == "gpt2";
        string dir = TorchReference.Make(Path.Combine(_root, "ckpt"), "--model-type", modelType, "--dtype", "BF16", "--shards", shards.ToString(),
            "--tied", tied ? "1" : "0", "--vocab", "1003", "--hidden", "48", "--heads", "12", "--kv-heads", gpt2 ? "12" : "4",
            "--ffn", "96", "--layers", "2", "--positions", "40", "--seed", Environment.TickCount.ToString());
        int[] ids = [1, 1002, 7, 500, 3, 999, 42, 0, 12, 77, 31, 4, 600, 2, 9, 13, 18];
        int[] lengths = [9, 8];   // 9 tokens: the blocked GEMM's path (more than SkinnyGemm's 8 rows)
        var expected = TorchReference.Logits(dir, ids, lengths);

        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Load(gpt2, mesh, dir, keep: true);
        var actual = Forward(model, ids, lengths);

        double scale = 0, worst = 0;
        foreach (double v in expected) scale = Math.Max(scale, Math.Abs(v));
        for (int t = 0; t < ids.Length; t++)
            for (int v = 0; v < 1003; v++)
                worst = Math.Max(worst, Math.Abs(actual[t, v] - expected[t, v]));
        Assert.True(worst <= 1e-4 * scale, $"largest difference {worst:E2} against largest logit {scale:F3}");
    }

    [TorchTheory]
    [InlineData("llama", 2)]
    [InlineData("qwen2", 4)]              // two KV heads, each shared by two devices
    [InlineData("gpt2", 3)]
    public void Cached_decoding_on_BF16_weights_gives_the_reference_ids(string modelType, int devices)
    {
        bool gpt2 = modelType == "gpt2";
        string dir = TorchReference.Make(Path.Combine(_root, "ckpt"), "--model-type", modelType, "--dtype", "BF16", "--vocab", "1003",
            "--hidden", "48", "--heads", "12", "--kv-heads", gpt2 ? "12" : "2", "--ffn", "96", "--layers", "2", "--positions", "40",
            "--seed", Environment.TickCount.ToString());
        int[] prompt = [5, 900, 17, 33];
        int[] expected = TorchReference.Generate(dir, prompt, 10);   // full recompute per token, float64

        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Load(gpt2, mesh, dir, keep: true);
        var result = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 10 });
        Assert.Equal(expected, result.NewIds);
    }

    [Theory]
    [InlineData(ModelFamily.Llama, "llama", false, 2)]
    [InlineData(ModelFamily.Llama, "qwen2", true, 4)]   // a KV head shared by two devices
    [InlineData(ModelFamily.Gpt2, "gpt2", false, 2)]
    public void Kept_weights_give_the_widened_load_s_logits_in_half_the_bytes(ModelFamily family, string modelType, bool tied, int devices)
    {
        string dir = RandomCheckpoint.Write(Path.Combine(_root, modelType),
            new RandomCheckpointSpec(family, Vocab: 211, Hidden: 64, Heads: 4, KvHeads: family == ModelFamily.Gpt2 ? 4 : 2, FfnHidden: 96, Layers: 2)
            { Seed = Environment.TickCount, Positions = 32, Tied = tied, ModelType = modelType, DType = SafetensorsDType.BF16 });
        string file = Path.Combine(dir, Checkpoint.SingleFile);
        byte[] before = SHA256.HashData(File.ReadAllBytes(file));
        int[] ids = [1, 210, 7, 100, 3, 199, 42, 0, 12, 5, 6, 8];
        int[] lengths = [1, 11];   // a 1-token sequence next to an 11-token one
        bool gpt2 = family == ModelFamily.Gpt2;
        using var meshA = DeviceMesh.CreateCpu(devices);
        using var meshB = DeviceMesh.CreateCpu(devices);
        using var kept = Load(gpt2, meshA, dir, keep: true);
        using var widened = Load(gpt2, meshB, dir, keep: false);

        var a = Forward(kept, ids, lengths);
        var b = Forward(widened, ids, lengths);
        double max = b.Cast<float>().Max(Math.Abs), worst = a.Cast<float>().Zip(b.Cast<float>(), (x, y) => (double)Math.Abs(x - y)).Max();
        Assert.True(worst <= 1e-5 * max, $"max |Δlogit| {worst:E2} of {max:E2}");

        // Weights are nearly all of a loaded model's device bytes: its matrices at two bytes each, norms and biases at four.
        for (int rank = 0; rank < devices; rank++)
        {
            double ratio = (double)meshA.Devices[rank].AllocatedBytes / meshB.Devices[rank].AllocatedBytes;
            Assert.True(ratio is > 0.45 and < 0.6, $"rank {rank}: {meshA.Devices[rank].AllocatedBytes} B kept vs {meshB.Devices[rank].AllocatedBytes} B widened ({ratio:F3})");
        }
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(file)));
    }

    [Fact]
    public void Training_refuses_kept_weights_before_touching_anything()
    {
        string dir = RandomCheckpoint.Write(Path.Combine(_root, "train"),
            new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 97, Hidden: 32, Heads: 4, KvHeads: 2, FfnHidden: 40, Layers: 1)
            { Seed = Environment.TickCount, DType = SafetensorsDType.BF16 });
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Llama.Load(mesh, dir, keepBFloat16: true);
        int[] ids = [1, 5, 9, 3];
        var logits = model.Forward(ids);
        long bytes = mesh.Devices[0].AllocatedBytes;

        var error = Assert.Throws<InvalidOperationException>(() => model.ForwardBackward(ids, [5, 9, 3, 1]));
        Assert.Contains("keepBFloat16: false", error.Message);
        Assert.Contains("read-only", error.Message);
        Assert.Equal(bytes, mesh.Devices[0].AllocatedBytes);   // no gradient twins were made
        Assert.Equal(logits.Cast<float>(), model.Forward(ids).Cast<float>());
    }

    [Fact]
    public void Copying_and_keeping_BF16_at_once_is_refused_by_name()
    {
        string dir = RandomCheckpoint.Write(Path.Combine(_root, "both"),
            new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 97, Hidden: 32, Heads: 4, KvHeads: 2, FfnHidden: 40, Layers: 1)
            { Seed = Environment.TickCount, DType = SafetensorsDType.BF16 });
        using var mesh = DeviceMesh.CreateCpu(2);
        var error = Assert.Throws<ArgumentException>(() => Llama.Load(mesh, dir, copyWeights: true, keepBFloat16: true));
        Assert.Contains("copyWeights", error.Message);
        Assert.Contains("keepBFloat16", error.Message);
        Assert.Equal(0, mesh.Devices[0].AllocatedBytes);
    }

    [Fact]
    public void An_F32_checkpoint_with_keepBFloat16_loads_as_F32_and_still_trains()
    {
        string dir = RandomCheckpoint.Write(Path.Combine(_root, "f32"),
            new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 97, Hidden: 32, Heads: 4, KvHeads: 2, FfnHidden: 40, Layers: 1)
            { Seed = Environment.TickCount, DType = SafetensorsDType.F32 });
        using var meshA = DeviceMesh.CreateCpu(2);
        using var meshB = DeviceMesh.CreateCpu(2);
        using var kept = Llama.Load(meshA, dir, keepBFloat16: true);
        using var plain = Llama.Load(meshB, dir);
        int[] ids = [1, 5, 9, 3], targets = [5, 9, 3, 1];
        Assert.Equal(plain.ForwardBackward(ids, targets), kept.ForwardBackward(ids, targets));
    }
}
