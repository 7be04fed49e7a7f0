using System;
using System.Linq;
using ShardGen.Costs;
using ShardGen.Planning;

namespace ShardGen.Tests.Costs;

public sealed class CostModelTests
{
    private static readonly DeviceProfile Device = new("test device", 100e12);
    private static readonly LinkProfile Link = new("test link", 100e9, 5e-6);

    private static ModelPlan Mlp(int devices, int hidden = 1024, int tokens = 512) => ModelPlan.Create("Mlp", new[]
    {
        new LayerSpec("Up", ParallelStrategy.ColumnParallel, hidden, 4 * hidden, true, Activation.Gelu, WeightLayout.InOut),
        new LayerSpec("Down", ParallelStrategy.RowParallel, 4 * hidden, hidden, true, Activation.None, WeightLayout.InOut),
    }, devices, tokens: tokens);

    private static ModelPlan Summa(int devices, int n = 256) => ModelPlan.Create("Summa", new[]
    {
        new LayerSpec("A", ParallelStrategy.Summa2D, n, n, false, Activation.None, WeightLayout.InOut),
        new LayerSpec("B", ParallelStrategy.Summa2D, n, n, false, Activation.None, WeightLayout.InOut),
    }, devices);

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Speedup_tends_to_the_device_count_as_bandwidth_grows_and_latency_vanishes(int p)
    {
        double last = 0;
        foreach (double bw in new[] { 1e9, 1e11, 1e13, 1e16 })
        {
            var cost = CostModel.PredictForward(Mlp(p), 512, Device, new LinkProfile("x", bw, 0));
            Assert.True(cost.Speedup > last, $"speedup {cost.Speedup} at {bw} B/s is not above {last}");
            last = cost.Speedup;
        }
        Assert.Equal(p, last, 3);
        var free = CostModel.PredictForward(Mlp(p), 512, Device, new LinkProfile("∞", double.PositiveInfinity, 0));
        Assert.Equal(p, free.Speedup, 9);
        Assert.Equal(0, free.CommunicationSeconds);
    }

    [Fact]
    public void Communication_time_is_bytes_over_bandwidth_plus_steps_times_latency()
    {
        const int p = 4, tokens = 512, hidden = 1024;
        var cost = CostModel.PredictForward(Mlp(p), tokens, Device, Link);
        // The MLP runs one ring all-reduce of T×hidden floats: 2(P−1)/P·N·4 bytes per device, 2(P−1) steps.
        long bytes = 2L * (p - 1) * tokens * hidden * 4 / p;
        Assert.Equal(bytes, cost.BytesPerDevice);
        Assert.Equal(2 * (p - 1), cost.LatencySteps);
        Assert.Equal(bytes / Link.BandwidthBytesPerSecond + 2 * (p - 1) * Link.LatencySeconds, cost.CommunicationSeconds, 15);
        Assert.Equal(cost.ComputeSeconds + cost.CommunicationSeconds, cost.TotalSeconds, 15);
    }

    [Fact]
    public void Compute_time_is_the_model_flops_split_over_the_devices()
    {
        const int tokens = 512, hidden = 1024;
        double flops = 2.0 * 2 * tokens * hidden * 4 * hidden;
        foreach (int p in new[] { 1, 2, 4, 8 })
        {
            var cost = CostModel.PredictForward(Mlp(p), tokens, Device, Link);
            Assert.Equal(flops, cost.TotalFlops, 0);
            Assert.Equal(flops / p / Device.FlopsPerSecond, cost.ComputeSeconds, 15);
            Assert.Equal(flops / Device.FlopsPerSecond, cost.SingleDeviceSeconds, 15);
        }
    }

    [Fact]
    public void One_device_has_no_communication_and_speedup_one()
    {
        var cost = CostModel.PredictForward(Mlp(1), 512, Device, Link);
        Assert.Equal(0, cost.CommunicationSeconds);
        Assert.Equal(0, cost.BytesPerDevice);
        Assert.Equal(1, cost.Speedup, 12);
    }

    [Fact]
    public void Slower_links_and_longer_latency_never_help()
    {
        var plan = Mlp(8);
        double fast = CostModel.PredictForward(plan, 512, Device, Link).TotalSeconds;
        double slow = CostModel.PredictForward(plan, 512, Device, Link with { BandwidthBytesPerSecond = 10e9 }).TotalSeconds;
        double late = CostModel.PredictForward(plan, 512, Device, Link with { LatencySeconds = 50e-6 }).TotalSeconds;
        Assert.True(slow > fast);
        Assert.True(late > fast);
    }

    [Fact]
    public void Speedup_grows_with_devices_but_efficiency_falls()
    {
        var link = LinkProfile.NvLinkClass;
        var costs = new[] { 1, 2, 4, 8 }.Select(p => CostModel.PredictForward(Mlp(p, 4096, 2048), 2048, DeviceProfile.H100Class, link)).ToArray();
        for (int i = 1; i < costs.Length; i++)
        {
            Assert.True(costs[i].Speedup > costs[i - 1].Speedup);
            Assert.True(costs[i].Efficiency < costs[i - 1].Efficiency);
            Assert.True(costs[i].Speedup < costs[i].Devices);
        }
    }

    [Fact]
    public void Wire_element_size_scales_the_bytes()
    {
        var plan = Mlp(4);
        var f32 = CostModel.PredictForward(plan, 512, Device, Link);
        var bf16 = CostModel.PredictForward(plan, 512, Device, Link with { BytesPerElement = 2 });
        Assert.Equal(f32.BytesPerDevice, 2 * bf16.BytesPerDevice);
    }

    [Fact]
    public void Summa_bytes_are_the_plans_and_its_latency_counts_broadcast_rounds()
    {
        const int p = 16, q = 4, n = 256, tokens = 64;
        var plan = Summa(p, n);
        var cost = CostModel.PredictForward(plan, tokens, Device, Link);
        Assert.Equal((long)Math.Round(plan.PredictedBytesPerDevice(tokens)), cost.BytesPerDevice);
        // Two layers of (q−1)/P·(T·n + n·n)·4 bytes per device.
        Assert.Equal(2L * (q - 1) * (tokens * n + n * n) * 4 / p, cost.BytesPerDevice);
        Assert.Equal(2 * 2 * q, cost.LatencySteps);
    }

    [Fact]
    public void Bad_profiles_are_refused()
    {
        var plan = Mlp(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => CostModel.PredictForward(plan, 512, new DeviceProfile("x", 0), Link));
        Assert.Throws<ArgumentOutOfRangeException>(() => CostModel.PredictForward(plan, 512, Device, new LinkProfile("x", 0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => CostModel.PredictForward(plan, 512, Device, new LinkProfile("x", 1e9, -1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => CostModel.PredictForward(plan, 0, Device, Link));
    }
}
