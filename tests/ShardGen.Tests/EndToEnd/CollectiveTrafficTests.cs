using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.EndToEnd;

/// <summary>
/// The collectives a forward pass really runs are the ones the plan predicts, call for call and byte for
/// byte, and the bytes equal the textbook formulas.
/// </summary>
public class CollectiveTrafficTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Column_then_row_runs_exactly_one_all_reduce_with_ring_bytes(int p)
    {
        const int tokens = 24, hidden = 64;
        using var mesh = DeviceMesh.CreateCpu(p);
        var (model, _) = ModelCase.Mlp.Create(mesh, 1);
        using (model)
        {
            model.Forward(ReferenceMath.RandomMatrix(new Random(p), tokens, hidden));
            var traffic = model.LastForward!;
            Assert.Equal(1, traffic.Count(CollectiveKind.AllReduce));
            Assert.Equal(0, traffic.Count(CollectiveKind.AllGather));
            Assert.Single(traffic.Records);

            long n = (long)tokens * hidden * sizeof(float);
            double ring = 2.0 * (p - 1) / p * n; // bytes per device, the textbook formula
            Assert.Equal(ring, traffic.AverageBytesPerDevice);
            Assert.Equal(ring, model.Plan.PredictedBytesPerDevice(tokens));
            // With N divisible by P every device of the ring sends the same amount.
            Assert.All(traffic.BytesSentPerDevice, b => Assert.Equal((long)ring, b));
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Column_then_column_runs_exactly_one_all_gather(int p)
    {
        const int tokens = 8;
        using var mesh = DeviceMesh.CreateCpu(p);
        var (model, _) = ModelCase.ColumnColumn.Create(mesh, 2);
        using (model)
        {
            model.Forward(ReferenceMath.RandomMatrix(new Random(p), tokens, 64));
            var traffic = model.LastForward!;
            Assert.Equal(1, traffic.Count(CollectiveKind.AllGather));
            Assert.Equal(0, traffic.Count(CollectiveKind.AllReduce));
            Assert.Single(traffic.Records);
            // All-gather of the first layer's [T, 128] output: (P−1)/P · N per device.
            Assert.Equal((p - 1.0) / p * tokens * 128 * sizeof(float), traffic.AverageBytesPerDevice);
        }
    }

    [Fact]
    public void Row_then_row_reduce_scatters_between_them()
    {
        using var mesh = DeviceMesh.CreateCpu(4);
        var (model, _) = ModelCase.ThreeLayer.Create(mesh, 3);
        using (model)
        {
            model.Forward(ReferenceMath.RandomMatrix(new Random(3), 5, 48));
            var kinds = model.LastForward!.Records.Select(r => r.Kind).ToArray();
            Assert.Equal(new[] { CollectiveKind.ReduceScatter, CollectiveKind.AllReduce }, kinds);
        }
    }

    public static IEnumerable<object[]> AllModels() =>
        ModelCase.OneDimensional.SelectMany(m => new[] { 1, 2, 4, 8 }.Select(p => new object[] { m, p }))
            .Concat(ModelCase.TwoDimensional.SelectMany(m => new[] { 1, 4, 9 }.Select(p => new object[] { m, p })));

    [Theory]
    [MemberData(nameof(AllModels))]
    public void Measured_traffic_equals_the_plans_prediction(ModelCase model, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        var (sharded, _) = model.Create(mesh, devices);
        using (sharded)
        {
            foreach (int tokens in new[] { 1, 7, 12 })
            {
                sharded.Forward(ReferenceMath.RandomMatrix(new Random(tokens), tokens, model.Specs[0].InFeatures));
                var traffic = sharded.LastForward!;
                Assert.Equal(sharded.Plan.PredictedTotalBytes(tokens), traffic.TotalBytesSent);
                foreach (var kind in Enum.GetValues<CollectiveKind>())
                    Assert.True(sharded.Plan.PredictedCalls(kind) == traffic.Count(kind),
                        $"{model} on {devices}: {kind} predicted {sharded.Plan.PredictedCalls(kind)}, measured {traffic.Count(kind)}");
            }
        }
    }

    [Fact]
    public void Summa_bytes_per_device_fall_like_one_over_sqrt_P()
    {
        // SUMMA sends (q−1)/P·(T·in + in·out) floats per device: about 1/q = 1/√P of the layer.
        var specs = ShardGen.Tests.Models.Summa.LayerSpecs;
        double at16 = ModelPlan.Create("2D", specs, 16).PredictedBytesPerDevice(4096);
        double at64 = ModelPlan.Create("2D", specs, 64).PredictedBytesPerDevice(4096);
        Assert.Equal((8 - 1) / 64.0 / ((4 - 1) / 16.0), at64 / at16, 12);
        Assert.InRange(at64 / at16, 0.5, 0.6); // quadrupling P about halves it
    }
}
