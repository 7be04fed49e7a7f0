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
    private const int WarmUp = 10, Runs = 20, Rounds = 3;
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
        AssertOnlyOutputAllocated(() => model.Forward(x), 16, 64);
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
        AssertOnlyOutputAllocated(() => model.Forward(x, lengths), 12, 32);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void A_steady_state_sequence_parallel_forward_allocates_only_its_output(int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        using var model = Models.TwoBlocksSequenceParallel.Create(mesh, Models.TwoBlocksSequenceParallel.Weights.Random(5));
        var x = ReferenceMath.RandomMatrix(new Random(p), 10, 64);
        AssertOnlyOutputAllocated(() => model.Forward(x, null), 10, 32);
    }

    // SUMMA layers take their panels from the model's pool and reuse their argument arrays.
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    public void A_steady_state_summa_forward_allocates_only_its_output(int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        using var model = Models.Summa.Create(mesh, Models.Summa.Weights.Random(6));
        var x = ReferenceMath.RandomMatrix(new Random(p), 12, 48);
        AssertOnlyOutputAllocated(() => model.Forward(x), 12, 72);
    }

    [Fact]
    public void A_steady_state_transposed_summa_forward_allocates_only_its_output()
    {
        // A·Bᵀ reduces partial products: the third kind of panel.
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = Models.SummaTorch.Create(mesh, Models.SummaTorch.Weights.Random(7));
        var x = ReferenceMath.RandomMatrix(new Random(8), 12, 48);
        AssertOnlyOutputAllocated(() => model.Forward(x), 12, 72);
    }

    [Fact]
    public void A_steady_state_mixed_1d_and_2d_forward_allocates_only_its_output()
    {
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = Models.Mixed.Create(mesh, Models.Mixed.Weights.Random(9));
        var x = ReferenceMath.RandomMatrix(new Random(10), 7, 36);
        AssertOnlyOutputAllocated(() => model.Forward(x), 7, 36);
    }

    private static void AssertOnlyOutputAllocated(Func<float[,]> forward, int outputRows, int outputCols)
    {
        long perForward = Allocation.PerForward(forward, WarmUp, Runs, Rounds);
        long output = Allocation.FloatMatrixBytes(outputRows, outputCols);
        Assert.True(perForward <= output + Slack,
            $"A steady-state Forward allocated {perForward:N0} B; the returned array is {output:N0} B and at most {Slack} B more is allowed.");
    }
}
