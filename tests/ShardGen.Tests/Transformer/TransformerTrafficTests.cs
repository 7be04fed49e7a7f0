using System;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Transformer;

/// <summary>
/// A block costs exactly two all-reduces in forward, 2(P−1)/P · T·d·4 bytes per device each; with sequence
/// parallelism two reduce-scatters and two all-gathers of (P−1)/P · T·d·4 each: the same bytes.
/// Measured = planned = formula.
/// </summary>
public class TransformerTrafficTests
{
    [Theory]
    [InlineData(2, 16)]
    [InlineData(4, 16)]
    [InlineData(8, 24)]
    public void One_block_runs_two_all_reduces_of_ring_size(int p, int tokens)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        using var model = Models.MhaBlock.Create(mesh, Models.MhaBlock.Weights.Random(1));
        model.Forward(ReferenceMath.RandomMatrix(new Random(p), tokens, 64));
        var traffic = model.LastForward!;

        Assert.Equal(new[] { CollectiveKind.AllReduce, CollectiveKind.AllReduce }, traffic.Records.Select(r => r.Kind).ToArray());
        double each = 2.0 * (p - 1) / p * tokens * 64 * sizeof(float);
        Assert.All(traffic.Records, r => Assert.Equal(each * p, r.TotalBytesSent));
        Assert.Equal(2 * each, traffic.AverageBytesPerDevice);
        Assert.Equal(2 * each, model.Plan.PredictedBytesPerDevice(tokens));
        Assert.Equal(2, model.Plan.PredictedCalls(CollectiveKind.AllReduce));
    }

    [Theory]
    [InlineData(2, 16)]
    [InlineData(4, 16)]
    [InlineData(8, 24)]
    public void Sequence_parallel_block_swaps_each_all_reduce_for_reduce_scatter_plus_all_gather_at_equal_bytes(int p, int tokens)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        using var model = Models.MqaSequenceParallel.Create(mesh, Models.MqaSequenceParallel.Weights.Random(2));
        model.Forward(ReferenceMath.RandomMatrix(new Random(p), tokens, 64));
        var traffic = model.LastForward!;

        Assert.Equal(2, traffic.Count(CollectiveKind.ReduceScatter));
        Assert.Equal(2, traffic.Count(CollectiveKind.AllGather));
        Assert.Equal(0, traffic.Count(CollectiveKind.AllReduce));
        double half = (p - 1.0) / p * tokens * 64 * sizeof(float);
        Assert.All(traffic.Records, r => Assert.Equal(half * p, r.TotalBytesSent));
        Assert.Equal(4 * half, traffic.AverageBytesPerDevice);
        // The same bytes as two ring all-reduces.
        Assert.Equal(2 * 2.0 * (p - 1) / p * tokens * 64 * sizeof(float), traffic.AverageBytesPerDevice);
        Assert.Equal(4 * half, model.Plan.PredictedBytesPerDevice(tokens));
    }

    [Fact]
    public void Sequence_parallelism_divides_the_residual_stream_memory_by_P()
    {
        var plain = Models.TwoBlocks.PlanFor(8, tokens: 64);
        var sp = Models.TwoBlocksSequenceParallel.PlanFor(8, tokens: 64);
        Assert.Equal(64L * 64 * sizeof(float), plain.ResidualStreamBytesPerDevice(64));
        Assert.Equal(8L * 64 * sizeof(float), sp.ResidualStreamBytesPerDevice(64));
        Assert.Contains("sequence parallel", sp.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Every_transformer_model_moves_exactly_the_planned_bytes(int p)
    {
        foreach (var model in TransformerCase.All)
        {
            using var mesh = DeviceMesh.CreateCpu(p);
            var (sharded, _) = model.Create(mesh, p);
            using (sharded)
            {
                foreach (var lengths in new[] { new[] { 1 }, new[] { 3, 4 } })
                {
                    int tokens = lengths.Sum();
                    model.Forward(sharded, ReferenceMath.RandomMatrix(new Random(tokens), tokens, model.Hidden), lengths);
                    var traffic = sharded.LastForward!;
                    Assert.Equal(sharded.Plan.PredictedTotalBytes(tokens), traffic.TotalBytesSent);
                    foreach (var kind in Enum.GetValues<CollectiveKind>())
                        Assert.True(sharded.Plan.PredictedCalls(kind) == traffic.Count(kind), $"{model} on {p}: {kind}");
                }
            }
        }
    }
}
