using System;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Planning;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// The name table end to end on C#-written checkpoints: every logical weight reads as the stored tensor (transposed
/// for [out, in], column ranges of GPT-2's c_attn), sliced reads equal the same window of a whole read.
/// </summary>
public sealed class CheckpointWeightsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(ModelFamily.Llama, "llama", 1, SafetensorsDType.F32)]
    [InlineData(ModelFamily.Llama, "qwen2", 3, SafetensorsDType.BF16)]
    [InlineData(ModelFamily.Gpt2, "gpt2", 2, SafetensorsDType.F32)]
    public void Logical_weights_are_the_stored_tensors_in_in_out_layout(ModelFamily family, string modelType, int shards, SafetensorsDType dtype)
    {
        int kv = family == ModelFamily.Llama ? 2 : 4;
        string dir = RandomCheckpoint.Write(Path.Combine(_root, modelType), new RandomCheckpointSpec(family, 1003, 32, 4, kv, 48, 2)
        { Seed = 7, Shards = shards, DType = dtype, ModelType = modelType, Positions = 40 });
        using var checkpoint = Checkpoint.Open(dir);
        var declared = family == ModelFamily.Llama ? DeclaredModels.Llama() : DeclaredModels.Gpt2();
        var layers = ConfigResolver.Resolve(declared, checkpoint.Config);
        var weights = new CheckpointWeights(checkpoint, layers);
        var at = weights.Layers;

        Assert.Equal(shards == 1 ? 1 : shards, checkpoint.Files.Count);
        Assert.Equal((1003, 32), weights.Shape(new WeightKey(at.Embedding, -1, WeightRole.TokenEmbedding)));
        var q = new WeightKey(at.Stack, 1, WeightRole.Query);
        var k = new WeightKey(at.Stack, 1, WeightRole.Key);
        Assert.Equal((32, 32), weights.Shape(q));
        Assert.Equal((32, kv * 8), weights.Shape(k));
        Assert.Equal(modelType == "qwen2" || family == ModelFamily.Gpt2, weights.Shape(new WeightKey(at.Stack, 0, WeightRole.QueryBias)) is not null);
        Assert.Equal(family == ModelFamily.Gpt2, weights.Shape(new WeightKey(at.Head, -1, WeightRole.Head)) is null);

        if (family == ModelFamily.Llama)
        {
            var stored = checkpoint.ReadMatrix("model.layers.1.self_attn.k_proj.weight");   // [out, in]
            var logical = Read(weights, k);
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < kv * 8; c++)
                    Assert.Equal(stored[c, r], logical[r, c]);
        }
        else
        {
            var stored = checkpoint.ReadMatrix("transformer.h.1.attn.c_attn.weight");   // [h, 3h]
            var logical = Read(weights, k);
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++)
                    Assert.Equal(stored[r, 32 + c], logical[r, c]);
        }

        // A window read equals the same window of the whole tensor.
        var whole = Read(weights, q);
        var window = new float[5 * 7];
        weights.Read(q, 3, 5, 11, 7, window);
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 7; c++)
                Assert.Equal(whole[3 + r, 11 + c], window[r * 7 + c]);
    }

    [Fact]
    public void Open_sizes_are_filled_from_config_json()
    {
        string dir = RandomCheckpoint.Write(_root, new RandomCheckpointSpec(ModelFamily.Llama, 1003, 64, 8, 2, 96, 3) { RopeTheta = 500000, NormEpsilon = 1e-6f });
        using var checkpoint = Checkpoint.Open(dir);
        var layers = ConfigResolver.Resolve(DeclaredModels.Llama(), checkpoint.Config);
        Assert.All(layers, l => Assert.False(l.IsOpen, l.Name));
        var stack = layers[1];
        Assert.Equal((64, 64), (stack.InFeatures, stack.OutFeatures));
        Assert.Equal((8, 2, 96, 3), (stack.Block!.Heads, stack.Block.KvHeads, stack.Block.FfnHidden, stack.Block.Layers));
        Assert.Equal(500000f, stack.Block.RopeTheta);
        Assert.Equal(1e-6f, stack.Block.Epsilon);
        Assert.Equal(1e-6f, layers[2].NormEpsilon);
        Assert.Equal((64, 1003), (layers[3].InFeatures, layers[3].OutFeatures));
        Assert.False(layers[3].Tied);
        Assert.Equal((1003, 64), (layers[0].InFeatures, layers[0].OutFeatures));
    }

    [Fact]
    public void A_pinned_size_that_config_json_contradicts_names_the_layer_property_and_both_values()
    {
        string dir = RandomCheckpoint.Write(_root, new RandomCheckpointSpec(ModelFamily.Llama, 100, 64, 8, 2, 96, 3));
        using var checkpoint = Checkpoint.Open(dir);
        var e = Assert.Throws<ShardingException>(() => ConfigResolver.Resolve(DeclaredModels.Llama(heads: 4), checkpoint.Config));
        Assert.Contains("'Layers'", e.Message);
        Assert.Contains("Heads = 4", e.Message);
        Assert.Contains("num_attention_heads = 8", e.Message);
        Assert.Contains("set Heads = 8", e.Message);
        // The same size pinned right resolves.
        Assert.Equal(8, ConfigResolver.Resolve(DeclaredModels.Llama(heads: 8), checkpoint.Config)[1].Block!.Heads);
    }

    [Fact]
    public void A_gpt2_checkpoint_into_a_llama_class_names_what_differs()
    {
        string dir = RandomCheckpoint.Write(_root, new RandomCheckpointSpec(ModelFamily.Gpt2, 100, 32, 4, 4, 64, 1));
        using var checkpoint = Checkpoint.Open(dir);
        var e = Assert.Throws<ShardingException>(() => ConfigResolver.Resolve(DeclaredModels.Llama(), checkpoint.Config));
        Assert.Contains("[PositionEmbedding]", e.Message);
        var noPositions = DeclaredModels.Gpt2().Where(l => l.Strategy != ParallelStrategy.PositionEmbedding).ToArray();
        Assert.Contains("no [PositionEmbedding]", Assert.Throws<ShardingException>(() => ConfigResolver.Resolve(noPositions, checkpoint.Config)).Message);
        var rotary = DeclaredModels.Gpt2();
        rotary[2] = rotary[2] with { Block = rotary[2].Block! with { Rotary = true, Mlp = MlpKind.Gated } };
        var arch = Assert.Throws<ShardingException>(() => ConfigResolver.Resolve(rotary, checkpoint.Config));
        Assert.Contains("Rotary = true", arch.Message);
        Assert.Contains("Mlp = MlpKind.Gated", arch.Message);
        Assert.Contains("GPT-2 model class", arch.Message);
    }

    internal static float[,] Read(IWeightSource weights, WeightKey key)
    {
        var (rows, cols) = weights.Shape(key)!.Value;
        var result = new float[rows, cols];
        weights.Read(key, 0, rows, 0, cols, ShardGen.Runtime.HostMatrix.Span(result));
        return result;
    }
}
