using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Planning;
using ShardGen.Tests.LanguageModel;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// Each layer's sliding window from config.json as transformers decides it (configuration_qwen2.py: sliding_window only
/// with use_sliding_window, 4096 when absent; layer_types when written, else layers i ≥ max_window_layers, default 28,
/// windowed; Mistral: every layer), and the contradictions refused by key, value and fix.
/// </summary>
public sealed class LayerWindowConfigTests
{
    private const string Sizes = "\"vocab_size\": 100, \"hidden_size\": 64, \"num_attention_heads\": 8, \"intermediate_size\": 96, \"num_hidden_layers\": 4";

    private static CheckpointConfig Parse(string modelType, string keys) =>
        CheckpointConfig.Parse($"{{\"model_type\": \"{modelType}\", {Sizes}{(keys.Length > 0 ? ", " + keys : "")}}}", "/ckpt/config.json");

    private static string Refused(string modelType, string keys) => Assert.Throws<CheckpointException>(() => Parse(modelType, keys)).Message;

    [Theory]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 2", 5, new[] { 0, 0, 5, 5 })]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 3", 5, new[] { 0, 0, 0, 5 })]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 4", null, null)]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 0", 5, null)]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 5", null, null)]
    [InlineData("\"use_sliding_window\": true, \"max_window_layers\": 1", 4096, new[] { 0, 4096, 4096, 4096 })]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": null, \"max_window_layers\": 1", null, null)]
    [InlineData("\"use_sliding_window\": false, \"sliding_window\": 5, \"max_window_layers\": 1", null, null)]
    [InlineData("\"sliding_window\": 5, \"max_window_layers\": 1", null, null)]
    [InlineData("\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 4, \"layer_types\": [\"sliding_attention\", \"full_attention\", \"sliding_attention\", \"full_attention\"]", 5, new[] { 5, 0, 5, 0 })]
    [InlineData("\"use_sliding_window\": false, \"layer_types\": [\"full_attention\", \"full_attention\", \"full_attention\", \"full_attention\"]", null, null)]
    public void Qwen2_windows_the_layers_transformers_windows(string keys, int? window, int[]? layers)
    {
        var c = Parse("qwen2", keys);
        Assert.Equal(window, c.SlidingWindow);
        Assert.Equal(layers, c.LayerWindows?.ToArray());
    }

    [Fact]
    public void Mistral_windows_every_layer_and_accepts_layer_types_that_say_so()
    {
        var c = Parse("mistral", "\"sliding_window\": 7, \"layer_types\": [\"sliding_attention\", \"sliding_attention\", \"sliding_attention\", \"sliding_attention\"]");
        Assert.Equal(7, c.SlidingWindow);
        Assert.Null(c.LayerWindows);
    }

    [Theory]
    [InlineData("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 5, \"layer_types\": [\"full_attention\", \"sliding_attention\"]", "layer_types has 2 entries but num_hidden_layers = 4", "one per layer")]
    [InlineData("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 5, \"layer_types\": [\"full_attention\", \"chunked_attention\", \"full_attention\", \"full_attention\"]", "layer_types[1] is \"chunked_attention\"", "\"full_attention\" and \"sliding_attention\"")]
    [InlineData("qwen2", "\"layer_types\": \"sliding_attention\"", "'layer_types' is \"sliding_attention\", not a list of strings", "fix config.json")]
    [InlineData("qwen2", "\"layer_types\": [\"full_attention\", 1, \"full_attention\", \"full_attention\"]", "not a list of strings", "one per layer")]
    [InlineData("qwen2", "\"use_sliding_window\": false, \"sliding_window\": 5, \"layer_types\": [\"full_attention\", \"full_attention\", \"sliding_attention\", \"full_attention\"]", "layer_types[2] is \"sliding_attention\", but use_sliding_window is not true", "set use_sliding_window = true")]
    [InlineData("qwen2", "\"use_sliding_window\": true, \"sliding_window\": null, \"layer_types\": [\"sliding_attention\", \"full_attention\", \"full_attention\", \"full_attention\"]", "layer_types[0] is \"sliding_attention\", but sliding_window is null", "make layer 0 \"full_attention\"")]
    [InlineData("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 0, \"max_window_layers\": 1", "'sliding_window' is 0", "positive integer")]
    [InlineData("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": -1", "'max_window_layers' is -1", "non-negative integer")]
    [InlineData("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 1.5", "'max_window_layers' is 1.5", "non-negative integer")]
    [InlineData("mistral", "\"sliding_window\": 5, \"layer_types\": [\"full_attention\", \"sliding_attention\", \"sliding_attention\", \"sliding_attention\"]", "layer_types[0] is \"full_attention\", but transformers' MistralModel applies sliding_window = 5 to every layer", "remove layer_types")]
    [InlineData("mistral", "\"layer_types\": [\"full_attention\", \"sliding_attention\", \"full_attention\", \"full_attention\"]", "layer_types[1] is \"sliding_attention\", but transformers' MistralModel applies sliding_window = null", "\"full_attention\"")]
    [InlineData("llama", "\"layer_types\": [\"full_attention\", \"full_attention\", \"full_attention\", \"sliding_attention\"]", "layer_types[3] is \"sliding_attention\", but model_type llama has no sliding window", "remove layer_types")]
    public void Contradictions_name_the_key_the_value_and_the_fix(string modelType, string keys, string mention, string fix)
    {
        string message = Refused(modelType, keys);
        Assert.Contains("/ckpt/config.json", message);
        Assert.Contains(mention, message);
        Assert.Contains(fix, message);
    }

    [Fact]
    public void The_resolved_stack_carries_each_blocks_window()
    {
        var config = Parse("qwen2", "\"use_sliding_window\": true, \"sliding_window\": 5, \"max_window_layers\": 1");
        var stack = ConfigResolver.Resolve(Llama.LayerSpecs, config).Single(l => l.Strategy == ParallelStrategy.TransformerStack).Block!;
        Assert.Equal(new[] { 0, 5, 5, 5 }, Enumerable.Range(0, 4).Select(stack.WindowOf));
        Assert.Equal(new LayerWindows([0, 5, 5, 5]), stack.LayerWindows);
        Assert.NotEqual(new LayerWindows([0, 0, 5, 5]), stack.LayerWindows);
    }

    [Fact]
    public void A_window_list_of_another_length_than_the_stack_is_refused_when_planned()
    {
        var layers = TinyLlama.LayerSpecs.Select(l => l.Block is { } b
            ? l with { Block = b with { SlidingWindow = 2, LayerWindows = new LayerWindows(Enumerable.Repeat(2, b.Layers + 1)) } } : l).ToArray();
        var stack = layers.Single(l => l.Block is not null);
        string message = Assert.Throws<ShardingException>(() => ModelPlan.Create("TinyLlama", layers, 1)).Message;
        Assert.Contains($"Layer '{stack.Name}' lists {stack.Block!.Layers + 1} block windows", message);
        Assert.Contains($"for {stack.Block.Layers} blocks: give one per block", message);
    }
}
