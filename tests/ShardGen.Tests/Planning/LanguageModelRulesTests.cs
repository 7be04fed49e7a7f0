using System.Linq;
using ShardGen.Planning;

namespace ShardGen.Tests.Planning;

/// <summary>
/// <see cref="ShardRules"/> on a language model: sizes left open (0) pass at build time, the same sizes filled in as
/// config.json would (at load) are checked by the same rules with the same IDs, and a non-LM model is checked as before.
/// </summary>
public class LanguageModelRulesTests
{
    private static LayerSpec Embed(int vocab, int hidden) => Table("Embed", ParallelStrategy.VocabEmbedding, vocab, hidden);
    private static LayerSpec Head(int hidden, int vocab) => Table("Head", ParallelStrategy.LmHead, hidden, vocab);
    private static LayerSpec Norm(int hidden, float epsilon = 1e-5f) =>
        Table("FinalNorm", ParallelStrategy.FinalNorm, hidden, hidden) with { Norm = NormKind.RmsNorm, NormEpsilon = epsilon };

    private static LayerSpec Table(string name, ParallelStrategy strategy, int inFeatures, int outFeatures) =>
        new(name, strategy, inFeatures, outFeatures, false, Activation.None, WeightLayout.InOut);

    private static LayerSpec Stack(int hidden, int heads, int kvHeads, int ffn = 0, int layers = 0, float epsilon = 0, float theta = 0) =>
        new("Layers", ParallelStrategy.TransformerStack, hidden, hidden, false, Activation.Silu, WeightLayout.InOut)
        {
            Block = new TransformerSpec(heads, kvHeads, ffn, NormKind.RmsNorm, true, epsilon) { Layers = layers, Mlp = MlpKind.Gated, Rotary = true, RopeTheta = theta },
        };

    private static string[] Ids(params LayerSpec[] layers) => ShardRules.CheckStructure("Llama", layers).Select(p => p.Id).ToArray();

    [Fact]
    public void Open_sizes_pass_and_the_resolved_model_passes_too()
    {
        Assert.Empty(Ids(Embed(0, 0), Stack(0, 0, 0), Norm(0, 0), Head(0, 0)));
        var resolved = new[] { Embed(1003, 64), Stack(64, 4, 2, 176, 2, 1e-6f, 10000), Norm(64), Head(64, 1003) };
        Assert.Empty(ShardRules.Check("Llama", resolved, 2)); // a vocabulary of 1003 splits unevenly, and that is allowed
    }

    [Fact]
    public void A_stack_shape_is_checked_on_what_is_set_and_fully_once_resolved()
    {
        Assert.Empty(Ids(Embed(0, 0), Stack(0, 6, 0), Norm(0, 0), Head(0, 0)));             // hidden open: nothing to divide
        Assert.Equal(new[] { "SHARD017" }, Ids(Embed(0, 0), Stack(512, 6, 0), Norm(0, 0), Head(0, 0)));
        Assert.Equal(new[] { "SHARD017" }, Ids(Embed(0, 0), Stack(0, 8, 3), Norm(0, 0), Head(0, 0)));
        Assert.Equal(new[] { "SHARD017" }, Ids(Embed(0, 0), Stack(40, 8, 8), Norm(0, 0), Head(0, 0))); // head width 5 with rotary
        var problem = ShardRules.CheckStructure("Llama", new[] { Embed(32000, 512), Stack(512, 6, 6, 1024, 2, 1e-6f, 1e4f), Norm(512), Head(512, 32000) }).Single();
        Assert.Equal(("SHARD017", 1), (problem.Id, problem.LayerIndex));
        Assert.Contains("does not split into 6 heads", problem.Message);
    }

    [Fact]
    public void One_width_runs_through_the_model_and_open_widths_pass_it_on()
    {
        var problem = ShardRules.CheckStructure("Llama", new[] { Embed(0, 768), Stack(0, 0, 0), Norm(1024), Head(0, 0) }).Single();
        Assert.Equal(("SHARD007", 2, 0), (problem.Id, problem.LayerIndex, problem.OtherLayerIndex));
        problem = ShardRules.CheckStructure("Llama", new[] { Embed(32000, 0), Stack(0, 0, 0), Norm(0, 0), Head(0, 32001) }).Single();
        Assert.Equal(("SHARD007", 3, 0), (problem.Id, problem.LayerIndex, problem.OtherLayerIndex));
        Assert.Contains("32001", problem.Message);
    }

    [Fact]
    public void Negative_sizes_are_errors_and_zero_is_not()
    {
        Assert.Equal(new[] { "SHARD006" }, Ids(Embed(-1, 0), Stack(0, 0, 0), Norm(0, 0), Head(0, 0)));
        Assert.Equal(new[] { "SHARD006" }, Ids(Embed(0, 0), Stack(0, 0, 0), Norm(0, -1e-5f), Head(0, 0)));
        Assert.Equal(new[] { "SHARD017" }, Ids(Embed(0, 0), Stack(0, 0, 0, layers: -2), Norm(0, 0), Head(0, 0)));
    }

    [Fact]
    public void Stack_heads_are_split_by_the_device_rules()
    {
        var layers = new[] { Embed(0, 0), Stack(0, 32, 8), Norm(0, 0), Head(0, 0) };
        Assert.Equal(new[] { "SHARD018" }, ShardRules.CheckDevices("Llama", layers, 3).Select(p => p.Id));
        Assert.Empty(ShardRules.CheckDevices("Llama", layers, 4));
    }
}
