using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using ShardGen.Checkpoints;
using Xunit.Abstractions;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// Every way a checkpoint can be broken fails while opening (before any device memory), with the file, the tensor,
/// the expected and actual values and the fix in the message. Each case starts from a good checkpoint that loads.
/// </summary>
public sealed class BadCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("shardgen-bad-").FullName;
    private readonly ITestOutputHelper _output;
    private string File0 => Path.Combine(_dir, "model.safetensors");

    public BadCheckpointTests(ITestOutputHelper output)
    {
        _output = output;
        RandomCheckpoint.Write(_dir, new RandomCheckpointSpec(ModelFamily.Llama, 103, 32, 4, 2, 48, 2) { Seed = 3 });
        Load();   // the good checkpoint loads: each test below breaks one thing
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Load()
    {
        using var checkpoint = Checkpoint.Open(_dir);
        var layers = ConfigResolver.Resolve(DeclaredModels.Llama(), checkpoint.Config);
        _ = new CheckpointWeights(checkpoint, layers);
    }

    private string Fails(params string[] mentions)
    {
        var e = Assert.ThrowsAny<ShardingException>(Load);
        _output.WriteLine(e.Message);
        foreach (string m in mentions) Assert.Contains(m, e.Message);
        return e.Message;
    }

    [Fact]
    public void Missing_tensor()
    {
        CheckpointFiles.EditHeader(File0, h => h.Remove("model.layers.1.mlp.up_proj.weight"));
        string message = Fails("'model.layers.1.mlp.up_proj.weight'", "missing", "MlpUp of block 1 of layer 'Layers'", "[48, 32] (out, in)");
        Assert.IsType<CheckpointException>(Assert.ThrowsAny<ShardingException>(Load));
        Assert.Contains(_dir, message);
    }

    [Fact]
    public void Missing_head_when_not_tied_says_tie_word_embeddings()
    {
        CheckpointFiles.EditHeader(File0, h => h.Remove("lm_head.weight"));
        Fails("'lm_head.weight'", "tie_word_embeddings = false");
    }

    [Fact]
    public void Misshaped_tensor_gives_expected_and_actual_shape()
    {
        // Same bytes, other shape: k_proj [16, 32] read as [32, 16].
        CheckpointFiles.EditHeader(File0, h => h["model.layers.0.self_attn.k_proj.weight"]!["shape"] = new JsonArray(32, 16));
        Fails("'model.layers.0.self_attn.k_proj.weight'", File0, "is [32, 16]", "[16, 32] (out, in)", "config contradicts the tensors");
    }

    [Fact]
    public void Unknown_dtype_names_the_tensor_and_dtype()
    {
        CheckpointFiles.EditHeader(File0, h => h["model.norm.weight"]!["dtype"] = "I32");
        Fails("'model.norm.weight'", "I32", "F32, F16 and BF16", File0);
    }

    [Fact]
    public void Truncated_file_names_the_last_tensor()
    {
        string last = CheckpointFiles.TensorsInOrder(File0)[^1];
        using (var f = new FileStream(File0, FileMode.Open)) f.SetLength(f.Length - 10);
        Fails("truncated", $"'{last}'", File0);
    }

    [Fact]
    public void Header_that_is_not_json()
    {
        CheckpointFiles.ReplaceHeader(File0, Encoding.UTF8.GetBytes("{\"model.norm.weight\": {\"dtype\": \"F32\", oops"));
        Fails("not JSON", File0);
    }

    [Fact]
    public void Header_length_beyond_the_file()
    {
        byte[] bytes = File.ReadAllBytes(File0);
        BitConverter.GetBytes((ulong)bytes.Length * 2).CopyTo(bytes, 0);
        File.WriteAllBytes(File0, bytes);
        Fails("header length", $"{bytes.Length} bytes", File0);
    }

    [Fact]
    public void Offsets_outside_the_file()
    {
        string middle = CheckpointFiles.TensorsInOrder(File0)[3];
        CheckpointFiles.EditHeader(File0, h =>
        {
            long length = h[middle]!["data_offsets"]![1]!.GetValue<long>() - h[middle]!["data_offsets"]![0]!.GetValue<long>();
            h[middle]!["data_offsets"] = new JsonArray(1L << 40, (1L << 40) + length);
        });
        Fails($"'{middle}'", "outside the file", File0);
    }

    [Fact]
    public void Overlapping_tensors()
    {
        string[] order = CheckpointFiles.TensorsInOrder(File0);
        CheckpointFiles.EditHeader(File0, h =>
        {
            // The 2nd tensor moved 4 bytes back into the 1st.
            var offsets = h[order[1]]!["data_offsets"]!.AsArray();
            offsets[0] = offsets[0]!.GetValue<long>() - 4;
            offsets[1] = offsets[1]!.GetValue<long>() - 4;
        });
        Fails($"'{order[0]}'", $"'{order[1]}'", "overlap");
    }

    [Fact]
    public void Offsets_that_disagree_with_the_shape()
    {
        CheckpointFiles.EditHeader(File0, h => h["model.norm.weight"]!["shape"] = new JsonArray(31));
        Fails("'model.norm.weight'", "[31]", "needs 124 bytes", "give 128");
    }

    [Fact]
    public void Config_that_contradicts_the_tensors()
    {
        CheckpointFiles.EditConfig(_dir, c => c["intermediate_size"] = 64);
        Fails("'model.layers.0.mlp.gate_proj.weight'", "is [48, 32]", "[64, 32] (out, in)", "intermediate_size = 64");
    }

    [Fact]
    public void Config_with_fewer_layers_than_the_tensors()
    {
        CheckpointFiles.EditConfig(_dir, c => c["num_hidden_layers"] = 1);
        Fails("model.layers.1.", "num_hidden_layers = 1", "contradicts");
    }

    [Fact]
    public void Unsupported_model_type_lists_the_supported_ones()
    {
        CheckpointFiles.EditConfig(_dir, c => c["model_type"] = "bert");
        Fails("model_type 'bert'", "llama, mistral, qwen2, gpt2", "config.json");
    }

    [Fact]
    public void Rope_scaling_is_not_supported()
    {
        CheckpointFiles.EditConfig(_dir, c => c["rope_scaling"] = JsonNode.Parse("""{"type": "linear", "factor": 2.0}"""));
        Fails("rope_scaling", "not supported", "config.json");
    }

    [Fact]
    public void A_head_dim_other_than_hidden_over_heads_is_not_supported()
    {
        CheckpointFiles.EditConfig(_dir, c => c["head_dim"] = 16);
        Fails("head_dim = 16", "not supported", "hidden_size / num_attention_heads = 8");
    }

    [Fact]
    public void Missing_config_json()
    {
        File.Delete(Path.Combine(_dir, "config.json"));
        Fails("config.json", "no such file");
    }

    [Fact]
    public void Missing_safetensors()
    {
        File.Delete(File0);
        Fails("model.safetensors", "model.safetensors.index.json", _dir);
    }

    [Fact]
    public void Index_that_names_a_tensor_its_file_lacks()
    {
        string sharded = Path.Combine(_dir, "sharded");
        RandomCheckpoint.Write(sharded, new RandomCheckpointSpec(ModelFamily.Llama, 103, 32, 4, 2, 48, 2) { Shards = 2 });
        string index = Path.Combine(sharded, Checkpoint.IndexFile);
        var json = JsonNode.Parse(File.ReadAllText(index))!;
        const string First = "model-00001-of-00002.safetensors", Second = "model-00002-of-00002.safetensors";
        var map = json["weight_map"]!;
        map["model.norm.weight"] = map["model.norm.weight"]!.GetValue<string>() == First ? Second : First;
        File.WriteAllText(index, json.ToJsonString());
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Open(sharded));
        Assert.Contains("'model.norm.weight'", e.Message);
        Assert.Contains(Checkpoint.IndexFile, e.Message);
    }

    [Fact]
    public void Index_that_names_a_missing_file()
    {
        string sharded = Path.Combine(_dir, "sharded");
        RandomCheckpoint.Write(sharded, new RandomCheckpointSpec(ModelFamily.Llama, 103, 32, 4, 2, 48, 2) { Shards = 2 });
        File.Delete(Path.Combine(sharded, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Open(sharded));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Contains("no such file", e.Message);
    }

    [Fact]
    public void Empty_file()
    {
        File.WriteAllBytes(File0, []);
        Fails("0 bytes", File0);
    }

    [Fact]
    public void Reading_an_unsupported_dtype_directly_names_it()
    {
        CheckpointFiles.EditHeader(File0, h => h["model.norm.weight"]!["dtype"] = "I32");
        using var file = SafetensorsFile.Open(File0);
        var e = Assert.Throws<CheckpointException>(() => file.ReadMatrix("model.norm.weight"));
        Assert.Contains("'model.norm.weight'", e.Message);
        Assert.Contains("I32", e.Message);
        Assert.Equal(SafetensorsDType.Other, file["model.norm.weight"].DType);
    }
}
