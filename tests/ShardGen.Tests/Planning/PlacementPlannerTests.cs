using System.Linq;
using ShardGen.Planning;

namespace ShardGen.Tests.Planning;

public class PlacementPlannerTests
{
    private static LayerSpec Col(string n, int i, int o, Activation a = Activation.None) => new(n, ParallelStrategy.ColumnParallel, i, o, true, a, WeightLayout.InOut);
    private static LayerSpec Row(string n, int i, int o, bool bias = true) => new(n, ParallelStrategy.RowParallel, i, o, bias, Activation.None, WeightLayout.InOut);
    private static LayerSpec S2D(string n, int i, int o) => new(n, ParallelStrategy.Summa2D, i, o, true, Activation.None, WeightLayout.InOut);

    /// <summary>The plan's step kinds, space-separated.</summary>
    private static string Kinds(params LayerSpec[] layers) => string.Join(" ", PlacementPlanner.Plan(layers).Select(s => s.Kind));

    [Fact]
    public void Column_then_row_needs_no_collective_between_and_one_all_reduce_after() =>
        Assert.Equal("UploadReplicated ColumnParallel RowParallel AllReduce BiasActivation Download",
            Kinds(Col("Up", 8, 32), Row("Down", 32, 8)));

    [Fact]
    public void Row_without_bias_or_activation_gets_no_epilogue() =>
        Assert.Equal("UploadReplicated ColumnParallel RowParallel AllReduce Download",
            Kinds(Col("Up", 8, 32), Row("Down", 32, 8, bias: false)));

    [Fact]
    public void Column_then_column_all_gathers_between_and_downloads_shards() =>
        Assert.Equal("UploadReplicated ColumnParallel AllGather ColumnParallel Download",
            Kinds(Col("A", 8, 16), Col("B", 16, 8)));

    [Fact]
    public void Row_first_uploads_column_shards() =>
        Assert.StartsWith("UploadColumnShards ", Kinds(Row("A", 8, 8)));

    [Fact]
    public void Row_then_row_reduce_scatters_because_the_next_layer_needs_only_its_shard() =>
        Assert.Equal("UploadColumnShards RowParallel ReduceScatter BiasActivation RowParallel AllReduce BiasActivation Download",
            Kinds(Row("A", 8, 16), Row("B", 16, 8)));

    [Fact]
    public void Two_dimensional_layers_chain_without_collectives_and_redistribute_at_the_edges()
    {
        Assert.Equal("UploadBlocks Summa2D Summa2D Download", Kinds(S2D("A", 8, 8), S2D("B", 8, 8)));
        Assert.Equal("UploadReplicated ColumnParallel Regrid Summa2D Regrid RowParallel AllReduce BiasActivation Download",
            Kinds(Col("A", 8, 16), S2D("B", 16, 16), Row("C", 16, 8)));
        Assert.Equal("UploadColumnShards RowParallel ReduceScatter BiasActivation Regrid Summa2D Regrid ColumnParallel Download",
            Kinds(Row("A", 8, 16), S2D("B", 16, 16), Col("C", 16, 8)));
    }

    [Fact]
    public void Ring_all_reduce_cost_is_the_textbook_formula()
    {
        var plan = ModelPlan.Create("M", new[] { Col("Up", 8, 32), Row("Down", 32, 8) }, 4);
        var allReduce = plan.Steps.Single(s => s.Kind == "AllReduce");
        // 2(P−1)/P · N bytes per device, N = T·F·4.
        Assert.Equal(2 * 3 * 10L * 8 * 4, plan.PredictedTotalBytes(allReduce, 10));
        Assert.Equal(2.0 * 3 / 4 * 10 * 8 * 4, plan.PredictedBytesPerDevice(10));
    }

    [Fact]
    public void Features_that_do_not_chain_name_both_layers_and_numbers()
    {
        var problems = ShardRules.CheckStructure("M", new[] { Col("Up", 8, 32), Row("Down", 16, 8) });
        var p = Assert.Single(problems);
        Assert.Equal("SHARD007", p.Id);
        Assert.Equal((1, 0), (p.LayerIndex, p.OtherLayerIndex));
        Assert.Contains("'Down' takes 16", p.Message);
        Assert.Contains("'Up' produces 32", p.Message);
    }

    [Fact]
    public void Working_device_counts_cover_every_split()
    {
        // Column out 48, Summa 48×48 → P must divide 48 and be a square whose root divides 48.
        var counts = ShardRules.WorkingDeviceCounts(new[] { Col("A", 8, 48), S2D("B", 48, 48) });
        Assert.Equal(new[] { 1, 4, 16 }, counts);
    }

    [Fact]
    public void Plan_table_shows_layers_shards_steps_and_bytes()
    {
        var text = ModelPlan.Create("Mlp", new[] { Col("Up", 1024, 4096, Activation.Gelu), Row("Down", 4096, 1024) }, 4, tokens: 512).ToString();
        Assert.Contains("Plan of Mlp on 4 devices", text);
        Assert.Contains("[1024, 1024]", text);   // both shards on 4 devices
        Assert.Contains("All-reduce (ring) of the partial sums [T, 1024]", text); // the generated comment's words
        Assert.Contains("3,145,728", text);      // 2·3/4 · 512·1024·4 bytes per device
        Assert.Contains("1 all-reduce", text);
    }
}
