using ShardGen.Checkpoints;

namespace ShardGen.Tests.Checkpoints;

/// <summary>config.json of each model_type, with the Hugging Face keys and defaults, and what is refused by key.</summary>
public sealed class CheckpointConfigTests
{
    private static CheckpointConfig Parse(string json) => CheckpointConfig.Parse(json, "/ckpt/config.json");

    private static string Refused(string json) => Assert.Throws<CheckpointException>(() => Parse(json)).Message;

    [Fact]
    public void Llama_reads_every_size_and_defaults_the_rest()
    {
        var c = Parse("""
            {"model_type": "llama", "vocab_size": 32000, "hidden_size": 2048, "num_attention_heads": 16, "num_key_value_heads": 4,
             "intermediate_size": 5632, "num_hidden_layers": 8, "rms_norm_eps": 1e-05, "hidden_act": "silu", "rope_scaling": null,
             "max_position_embeddings": 4096, "torch_dtype": "bfloat16"}
            """);
        Assert.Equal((ModelFamily.Llama, 32000, 2048, 16, 4, 5632, 8), (c.Family, c.Vocab, c.Hidden, c.Heads, c.KvHeads, c.FfnHidden, c.Layers));
        Assert.Equal((1e-5f, 10000f, 4096, 128), (c.NormEpsilon, c.RopeTheta, c.Positions, c.HeadDim));
        Assert.False(c.TieWordEmbeddings);
        Assert.False(c.QkvBias);
        Assert.Equal(Activation.Silu, c.Activation);
        Assert.Equal("num_key_value_heads", c.KeyOf(nameof(c.KvHeads)));
    }

    [Fact]
    public void Llama_without_kv_heads_is_multi_head()
    {
        var c = Parse("""{"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2}""");
        Assert.Equal(8, c.KvHeads);
        Assert.Equal(1e-6f, c.NormEpsilon);
        Assert.Equal(2048, c.Positions);
    }

    [Fact]
    public void Qwen2_has_qkv_biases_rope_theta_and_a_tied_head_when_it_says_so()
    {
        var c = Parse("""
            {"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "num_attention_heads": 14, "num_key_value_heads": 2,
             "intermediate_size": 4864, "num_hidden_layers": 24, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": true,
             "use_sliding_window": false, "sliding_window": 32768, "hidden_act": "silu"}
            """);
        Assert.True(c.QkvBias);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(1e6f, c.RopeTheta);
        Assert.Null(c.SlidingWindow);
        Assert.Equal(ModelFamily.Llama, c.Family);
    }

    [Fact]
    public void Mistral_keeps_its_sliding_window()
    {
        var c = Parse("""
            {"model_type": "mistral", "vocab_size": 32000, "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
             "intermediate_size": 14336, "num_hidden_layers": 32, "sliding_window": 4096, "rope_theta": 10000.0}
            """);
        Assert.Equal(4096, c.SlidingWindow);
        Assert.False(c.QkvBias);
        Assert.Equal(8, c.KvHeads);
    }

    [Fact]
    public void Gpt2_reads_its_own_keys_and_defaults()
    {
        var c = Parse("""
            {"model_type": "gpt2", "vocab_size": 50257, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024, "n_inner": null,
             "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05, "n_ctx": 1024}
            """);
        Assert.Equal((ModelFamily.Gpt2, 50257, 768, 12, 12, 3072, 12, 1024), (c.Family, c.Vocab, c.Hidden, c.Heads, c.KvHeads, c.FfnHidden, c.Layers, c.Positions));
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(Activation.GeluTanh, c.Activation);
        Assert.Equal("n_embd", c.KeyOf(nameof(c.Hidden)));
        Assert.Equal(1e-5f, c.NormEpsilon);
    }

    [Theory]
    [InlineData("""{"model_type": "bert"}""", "model_type 'bert' is not supported", "llama, mistral, qwen2, gpt2")]
    [InlineData("""{"vocab_size": 3}""", "has no model_type", "llama, mistral, qwen2, gpt2")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2}""", "no 'hidden_size'", "")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "hidden_size": "64", "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2}""", "'hidden_size' is \"64\"", "positive integer")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2, "rope_scaling": {"type": "dynamic", "factor": 2}}""", "rope_scaling", "not supported")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2, "head_dim": 16}""", "head_dim = 16", "not supported")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2, "attention_bias": true}""", "attention_bias = true", "q, k and v only")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 8, "num_key_value_heads": 3, "intermediate_size": 96, "num_hidden_layers": 2}""", "num_attention_heads = 8 is not a multiple of num_key_value_heads = 3", "")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "hidden_size": 60, "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2}""", "hidden_size = 60 is not a multiple of num_attention_heads = 8", "")]
    [InlineData("""{"model_type": "llama", "vocab_size": 100, "hidden_size": 64, "num_attention_heads": 8, "intermediate_size": 96, "num_hidden_layers": 2, "hidden_act": "quick_gelu"}""", "hidden_act 'quick_gelu'", "silu")]
    [InlineData("""{"model_type": "gpt2", "vocab_size": 100, "n_embd": 64, "n_head": 8, "n_layer": 2, "n_positions": 32, "scale_attn_by_inverse_layer_idx": true}""", "scale_attn_by_inverse_layer_idx", "not supported")]
    [InlineData("""{"model_type": "llama", """, "not JSON", "")]
    public void Refused_configs_name_the_key_and_the_file(string json, string mention, string also)
    {
        string message = Refused(json);
        Assert.Contains("/ckpt/config.json", message);
        Assert.Contains(mention, message);
        Assert.Contains(also, message);
    }
}
