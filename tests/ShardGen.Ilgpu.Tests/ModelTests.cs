using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Ilgpu;
using ShardGen.Tests.EndToEnd;
using ShardGen.Tests.Reference;
using ShardGen.Tests.Transformer;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// The generated models of the core and transformer suites, unchanged, on 1, 2 and 4 ILGPU CPU accelerators:
/// they match the double reference (relative error &lt; 1e-4) and the CPU backend's output, and the bytes measured
/// equal the plan's prediction and the CPU backend's, device by device.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class ModelTests
{
    private const double Tolerance = 1e-4;

    public static IEnumerable<object[]> LinearCases() =>
        (from m in ModelCase.OneDimensional from p in new[] { 1, 2, 4 } select new object[] { m, p })
        .Concat(from m in ModelCase.TwoDimensional from p in new[] { 1, 4 } select new object[] { m, p });

    public static IEnumerable<object[]> TransformerCases() =>
        from m in TransformerCase.All from p in new[] { 1, 2, 4 } select new object[] { m, p };

    [Theory]
    [MemberData(nameof(LinearCases))]
    public void Linear_models_match_reference_cpu_backend_and_plan(ModelCase model, int devices)
    {
        int seed = 1000 + devices;
        var mesh = IlgpuMeshes.Cpu(devices);
        using var cpu = DeviceMesh.CreateCpu(devices);
        var (sharded, weights) = model.Create(mesh, seed);
        var (onCpu, _) = model.Create(cpu, seed);
        using (sharded)
        using (onCpu)
        {
            foreach (int tokens in new[] { 1, 7, 16 })
            {
                var x = ReferenceMath.RandomMatrix(new Random(seed + tokens), tokens, model.Specs[0].InFeatures);
                var y = sharded.Forward(x);
                double error = ReferenceMath.RelativeError(y, model.Reference(weights, x));
                Assert.True(error < Tolerance, $"{model} on {devices} ILGPU devices, {tokens} tokens: relative error {error:E2}");
                var yCpu = onCpu.Forward(x);
                Assert.True(ReferenceMath.RelativeError(y, ReferenceMath.ToDouble(yCpu)) < 1e-5, $"{model}: ILGPU and CPU backends differ");
                AssertTrafficAsPlannedAndAsCpu(sharded, onCpu, tokens);
            }
        }
    }

    [Theory]
    [MemberData(nameof(TransformerCases))]
    public void Transformer_models_match_reference_cpu_backend_and_plan(TransformerCase model, int devices)
    {
        int seed = 2000 + devices;
        var mesh = IlgpuMeshes.Cpu(devices);
        using var cpu = DeviceMesh.CreateCpu(devices);
        var (sharded, weights) = model.Create(mesh, seed);
        var (onCpu, _) = model.Create(cpu, seed);
        using (sharded)
        using (onCpu)
        {
            foreach (var lengths in new[] { new[] { 1 }, new[] { 5, 1, 7 } })
            {
                var x = ReferenceMath.RandomMatrix(new Random(seed + lengths.Length), lengths.Sum(), model.Hidden);
                var y = model.Forward(sharded, x, lengths);
                double error = ReferenceMath.RelativeError(y, model.Reference(weights, x, lengths));
                Assert.True(error < Tolerance, $"{model} on {devices} ILGPU devices, [{string.Join(", ", lengths)}]: relative error {error:E2}");
                var yCpu = model.Forward(onCpu, x, lengths);
                Assert.True(ReferenceMath.RelativeError(y, ReferenceMath.ToDouble(yCpu)) < 1e-5, $"{model}: ILGPU and CPU backends differ");
                AssertTrafficAsPlannedAndAsCpu(sharded, onCpu, lengths.Sum());
            }
        }
    }

    [Fact]
    public void Staged_transfers_give_the_same_model_result_and_bytes()
    {
        var mesh = IlgpuMeshes.Cpu(4, staged: true);
        var (sharded, weights) = TransformerCase.TwoBlocksSequenceParallel.Create(mesh, 5);
        using (sharded)
        {
            var x = ReferenceMath.RandomMatrix(new Random(5), 9, 64);
            var y = TransformerCase.TwoBlocksSequenceParallel.Forward(sharded, x, new[] { 4, 5 });
            double error = ReferenceMath.RelativeError(y, TransformerCase.TwoBlocksSequenceParallel.Reference(weights, x, new[] { 4, 5 }));
            Assert.True(error < Tolerance, $"relative error {error:E2}");
            Assert.Equal(sharded.Plan.PredictedBytesPerDevice(9), sharded.LastForward!.AverageBytesPerDevice);
        }
    }

    private static void AssertTrafficAsPlannedAndAsCpu(IShardedModel ilgpu, IShardedModel cpu, int tokens)
    {
        var traffic = ilgpu.LastForward!;
        Assert.Equal(ilgpu.Plan.PredictedBytesPerDevice(tokens), traffic.AverageBytesPerDevice);
        Assert.Equal(cpu.LastForward!.BytesSentPerDevice, traffic.BytesSentPerDevice);
        Assert.Equal(cpu.LastForward!.Records.Select(r => (r.Kind, r.TotalBytesSent)), traffic.Records.Select(r => (r.Kind, r.TotalBytesSent)));
    }
}
