using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Planning;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// The reader against PyTorch: checkpoints written by tests/reference/hf_reference.py (its own safetensors writer,
/// torch's BF16/F16 rounding) read by ShardGen equal what python reads back from the same files (.npy dumps), whole,
/// sliced, transposed and as GPT-2's c_attn column ranges; files ShardGen writes read back equal in python.
/// </summary>
public sealed class SafetensorsReaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-st-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [TorchTheory]
    [InlineData("llama", "F32", 1, 11)]
    [InlineData("qwen2", "BF16", 3, 12)]
    [InlineData("mistral", "F16", 2, 13)]
    [InlineData("gpt2", "BF16", 1, 14)]
    [InlineData("gpt2", "F16", 3, 15)]
    public void Every_tensor_reads_as_python_reads_it(string modelType, string dtype, int shards, int seed)
    {
        string dir = TorchReference.Make(Path.Combine(_root, "ckpt"), "--model-type", modelType, "--dtype", dtype, "--shards", shards.ToString(),
            "--seed", seed.ToString(), "--vocab", "1003", "--hidden", "48", "--heads", "6", "--kv-heads", modelType == "gpt2" ? "6" : "2",
            "--ffn", "80", "--layers", "2", "--positions", "37");
        string npy = TorchReference.Dump(dir, Path.Combine(_root, "npy"));
        using var checkpoint = Checkpoint.Open(dir);
        Assert.Equal(shards, checkpoint.Files.Count);
        var random = new Random(seed);
        int compared = 0;
        foreach (string name in checkpoint.TensorNames)
        {
            checkpoint.TryGetTensor(name, out var file, out var tensor);
            if (tensor.DType == SafetensorsDType.Other || tensor.Matrix is null) continue;   // GPT-2's attn.bias buffers
            var expected = Npy.ReadMatrix(Path.Combine(npy, name + ".npy"));
            AssertEqual(expected, checkpoint.ReadMatrix(name), name);
            AssertEqual(Transpose(expected), checkpoint.ReadMatrix(name, transposed: true), name + " transposed");
            for (int k = 0; k < 4; k++)
            {
                bool transposed = random.Next(2) == 1;
                var whole = transposed ? Transpose(expected) : expected;
                int rows = random.Next(1, whole.GetLength(0) + 1), cols = random.Next(1, whole.GetLength(1) + 1);
                int row0 = random.Next(whole.GetLength(0) - rows + 1), col0 = random.Next(whole.GetLength(1) - cols + 1);
                var slice = new float[rows * cols];
                file.Read(tensor, row0, rows, col0, cols, transposed, slice);
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++)
                        Assert.True(whole[row0 + r, col0 + c] == slice[r * cols + c], $"{name} slice [{row0}+{rows}, {col0}+{cols}]{(transposed ? " T" : "")} at ({r}, {c})");
            }
            compared++;
        }
        Assert.True(compared >= 15, $"only {compared} tensors compared");
    }

    [TorchTheory]
    [InlineData("gpt2", false)]
    [InlineData("gpt2", true)]
    [InlineData("qwen2", false)]
    public void Logical_weights_follow_the_name_table(string modelType, bool noPrefix)
    {
        bool gpt2 = modelType == "gpt2";
        string[] options = ["--model-type", modelType, "--hidden", "32", "--heads", "4", "--kv-heads", gpt2 ? "4" : "2", "--ffn", "40", "--layers", "2",
            "--vocab", "101", "--tied", gpt2 ? "1" : "0", "--seed", "5"];
        string dir = TorchReference.Make(Path.Combine(_root, "ckpt"), noPrefix ? [.. options, "--no-prefix"] : options);
        string npy = TorchReference.Dump(dir, Path.Combine(_root, "npy"));
        using var checkpoint = Checkpoint.Open(dir);
        var layers = ConfigResolver.Resolve(gpt2 ? DeclaredModels.Gpt2() : DeclaredModels.Llama(), checkpoint.Config);
        var weights = new CheckpointWeights(checkpoint, layers);
        int stack = weights.Layers.Stack;
        double[,] Python(string name) => Npy.ReadMatrix(Path.Combine(npy, name + ".npy"));

        if (gpt2)
        {
            string p = noPrefix ? "" : "transformer.";
            var cAttn = Python($"{p}h.1.attn.c_attn.weight");
            var cAttnBias = Python($"{p}h.1.attn.c_attn.bias");
            WeightRole[] roles = [WeightRole.Query, WeightRole.Key, WeightRole.Value];
            WeightRole[] biases = [WeightRole.QueryBias, WeightRole.KeyBias, WeightRole.ValueBias];
            for (int part = 0; part < 3; part++)
            {
                AssertEqual(Columns(cAttn, part * 32, 32), CheckpointWeightsTests.Read(weights, new(stack, 1, roles[part])), roles[part].ToString());
                AssertEqual(Columns(cAttnBias, part * 32, 32), CheckpointWeightsTests.Read(weights, new(stack, 1, biases[part])), biases[part].ToString());
            }
            AssertEqual(Python($"{p}h.0.mlp.c_fc.weight"), CheckpointWeightsTests.Read(weights, new(stack, 0, WeightRole.MlpUp)), "c_fc");
            AssertEqual(Python($"{p}wpe.weight"), CheckpointWeightsTests.Read(weights, new(weights.Layers.Positions, -1, WeightRole.PositionEmbedding)), "wpe");
            AssertEqual(Python($"{p}ln_f.bias"), CheckpointWeightsTests.Read(weights, new(weights.Layers.FinalNorm, -1, WeightRole.FinalNormShift)), "ln_f.bias");
            Assert.Null(weights.Shape(new(weights.Layers.Head, -1, WeightRole.Head)));
        }
        else
        {
            AssertEqual(Transpose(Python("model.layers.1.self_attn.q_proj.weight")), CheckpointWeightsTests.Read(weights, new(stack, 1, WeightRole.Query)), "q_proj");
            AssertEqual(Python("model.layers.1.self_attn.v_proj.bias"), CheckpointWeightsTests.Read(weights, new(stack, 1, WeightRole.ValueBias)), "v_proj.bias");
            AssertEqual(Transpose(Python("model.layers.0.mlp.down_proj.weight")), CheckpointWeightsTests.Read(weights, new(stack, 0, WeightRole.MlpDown)), "down_proj");
            AssertEqual(Transpose(Python("lm_head.weight")), CheckpointWeightsTests.Read(weights, new(weights.Layers.Head, -1, WeightRole.Head)), "lm_head");
            Assert.Equal("lm_head.weight", weights.Name(new(weights.Layers.Head, -1, WeightRole.Head)));
        }
    }

    [TorchTheory]
    [InlineData(SafetensorsDType.F32)]
    [InlineData(SafetensorsDType.BF16)]
    public void Files_shardgen_writes_read_back_equal_in_python(SafetensorsDType dtype)
    {
        var random = new Random(21);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 6)))).ToArray();
        var tensors = new List<NamedTensor>
        {
            new("a.weight", [7, 13], Values(91)),
            new("b.bias", [5], Values(5)),
            new("c", [3, 1], [float.PositiveInfinity, -0.0f, 1e-40f]),
        };
        string path = Path.Combine(_root, "w.safetensors");
        SafetensorsWriter.Write(path, tensors, dtype);
        Assert.Empty(Directory.GetFiles(_root, "*.tmp"));
        string npy = TorchReference.Dump(path, Path.Combine(_root, "npy"));
        using var file = SafetensorsFile.Open(path);
        foreach (var t in tensors)
        {
            var python = Npy.Read(Path.Combine(npy, t.Name + ".npy"));
            Assert.Equal(t.Shape.Select(d => (int)d), python.Shape);
            var mine = file.ReadMatrix(t.Name);
            for (int i = 0; i < t.Data.Length; i++)
            {
                float expected = dtype == SafetensorsDType.F32 ? t.Data[i] : BitConverter.UInt32BitsToSingle((uint)SafetensorsWriter.BFloat16(t.Data[i]) << 16);
                Assert.Equal(expected, (float)python.Data[i]);
                Assert.Equal(expected, mine[i / mine.GetLength(1), i % mine.GetLength(1)]);
                if (dtype == SafetensorsDType.BF16 && float.IsNormal(t.Data[i]))
                    Assert.True(Math.Abs(expected - t.Data[i]) <= Math.Abs(t.Data[i]) / 256, $"{t.Data[i]} → {expected}");
            }
        }
    }

    [TorchFact]
    public void A_shardgen_random_checkpoint_reads_in_python_as_shardgen_reads_it()
    {
        string dir = RandomCheckpoint.Write(Path.Combine(_root, "ckpt"), new RandomCheckpointSpec(ModelFamily.Gpt2, 1003, 32, 4, 4, 64, 2) { Shards = 2, DType = SafetensorsDType.BF16 });
        string npy = TorchReference.Dump(dir, Path.Combine(_root, "npy"));
        using var checkpoint = Checkpoint.Open(dir);
        foreach (string name in checkpoint.TensorNames)
            AssertEqual(Npy.ReadMatrix(Path.Combine(npy, name + ".npy")), checkpoint.ReadMatrix(name), name);
        // And python's reference model runs on it: the logits are finite and O(1).
        var logits = TorchReference.Logits(dir, [1, 5, 1002, 7]);
        Assert.Equal((4, 1003), (logits.GetLength(0), logits.GetLength(1)));
        Assert.All(logits.Cast<double>(), v => Assert.True(double.IsFinite(v) && Math.Abs(v) < 30, $"logit {v}"));
    }

    private static void AssertEqual(double[,] expected, float[,] actual, string what)
    {
        Assert.Equal((expected.GetLength(0), expected.GetLength(1)), (actual.GetLength(0), actual.GetLength(1)));
        for (int r = 0; r < expected.GetLength(0); r++)
            for (int c = 0; c < expected.GetLength(1); c++)
                if (expected[r, c] != actual[r, c])
                    Assert.Fail($"{what} at ({r}, {c}): python {expected[r, c]}, ShardGen {actual[r, c]}");
    }

    private static double[,] Transpose(double[,] m)
    {
        var t = new double[m.GetLength(1), m.GetLength(0)];
        for (int r = 0; r < m.GetLength(0); r++)
            for (int c = 0; c < m.GetLength(1); c++)
                t[c, r] = m[r, c];
        return t;
    }

    private static double[,] Columns(double[,] m, int col0, int cols)
    {
        var s = new double[m.GetLength(0), cols];
        for (int r = 0; r < m.GetLength(0); r++)
            for (int c = 0; c < cols; c++)
                s[r, c] = m[r, col0 + c];
        return s;
    }
}
