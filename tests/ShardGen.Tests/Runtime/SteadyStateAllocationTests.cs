using System;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Runtime;

/// <summary>Measured over the whole process, so nothing else may run meanwhile.</summary>
[CollectionDefinition(nameof(AllocationMeasurements), DisableParallelization = true)]
public sealed class AllocationMeasurements;

/// <summary>
/// A steady-state Forward allocates only the array it returns: activations come from the model's pool, the device
/// queues take structs, collective ops are pooled, and the pass's tensors and traffic report are reused.
/// Device workers allocate too, so the figure is GC.GetTotalAllocatedBytes over the whole process.
/// </summary>
[Collection(nameof(AllocationMeasurements))]
public class SteadyStateAllocationTests
{
    private const int Runs = 20;
    private const long Slack = 1024; // per Forward, beyond the returned array

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void A_steady_state_mlp_forward_allocates_only_its_output(int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(3));
        var x = ReferenceMath.RandomMatrix(new Random(p), 16, 64);
        AssertOnlyOutputAllocated(() => model.Forward(x), 16 * 64);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void A_steady_state_transformer_forward_allocates_only_its_output(int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        using var model = Models.TwoBlocks.Create(mesh, Models.TwoBlocks.Weights.Random(4));
        var x = ReferenceMath.RandomMatrix(new Random(p), 12, 64);
        var lengths = new[] { 5, 7 };
        AssertOnlyOutputAllocated(() => model.Forward(x, lengths), 12 * 32);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void A_steady_state_sequence_parallel_forward_allocates_only_its_output(int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        using var model = Models.TwoBlocksSequenceParallel.Create(mesh, Models.TwoBlocksSequenceParallel.Weights.Random(5));
        var x = ReferenceMath.RandomMatrix(new Random(p), 10, 64);
        AssertOnlyOutputAllocated(() => model.Forward(x, null), 10 * 32);
    }

    private static void AssertOnlyOutputAllocated(Func<float[,]> forward, int outputElements)
    {
        for (int i = 0; i < 10; i++) forward(); // warm-up: pools, rings and caches fill
        // The least of three rounds: a background JIT tier-up may allocate during one of them.
        long perForward = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Runs; i++) forward();
            perForward = Math.Min(perForward, (GC.GetTotalAllocatedBytes(precise: true) - before) / Runs);
        }
        long output = outputElements * sizeof(float) + 32L; // a float[,] of that size, header included
        Assert.True(perForward <= output + Slack,
            $"A steady-state Forward allocated {perForward:N0} B; the returned array is {output:N0} B and at most {Slack} B more is allowed.");
    }
}
