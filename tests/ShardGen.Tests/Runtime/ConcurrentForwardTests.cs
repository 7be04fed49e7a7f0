using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Runtime;

/// <summary>
/// Forward may be called from many threads: passes on one mesh run one at a time, so every concurrent result equals
/// the one the same call gives alone (bitwise: the kernels and collectives sum in a fixed order).
/// </summary>
public class ConcurrentForwardTests
{
    private const int Threads = 6, CallsPerThread = 8;

    [Fact]
    public void Concurrent_forwards_on_one_model_each_equal_the_single_threaded_result()
    {
        int seed = Random.Shared.Next();
        using var mesh = DeviceMesh.CreateCpu(4);
        var weights = Models.Mlp.Weights.Random(seed);
        using var model = Models.Mlp.Create(mesh, weights);
        var inputs = RandomInputs(seed, Threads * CallsPerThread, 64, 1, 17);
        var alone = inputs.Select(x => model.Forward(x)).ToArray();
        // The single-threaded results are right to begin with.
        Assert.True(ReferenceMath.RelativeError(alone[0], EndToEnd.ModelCase.Mlp.Reference([weights.Up!, weights.Down!], inputs[0])) < 1e-4, $"seed={seed}");

        RunConcurrently(i => Assert.Equal(alone[i], model.Forward(inputs[i])), $"seed={seed}");
    }

    [Fact]
    public void Concurrent_forwards_of_two_models_on_one_mesh_each_equal_the_single_threaded_result()
    {
        int seed = Random.Shared.Next();
        using var mesh = DeviceMesh.CreateCpu(2);
        using var mlp = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(seed));
        using var blocks = Models.TwoBlocks.Create(mesh, Models.TwoBlocks.Weights.Random(seed + 1));
        var inputs = RandomInputs(seed, Threads * CallsPerThread, 64, 2, 20);
        int[] Lengths(int i) => inputs[i].GetLength(0) % 2 == 0 ? [inputs[i].GetLength(0) / 2, inputs[i].GetLength(0) / 2] : [inputs[i].GetLength(0)];
        var alone = inputs.Select((x, i) => i % 2 == 0 ? mlp.Forward(x) : blocks.Forward(x, Lengths(i))).ToArray();

        RunConcurrently(i => Assert.Equal(alone[i], i % 2 == 0 ? mlp.Forward(inputs[i]) : blocks.Forward(inputs[i], Lengths(i))), $"seed={seed}");
    }

    private static float[][,] RandomInputs(int seed, int count, int cols, int minRows, int maxRows)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => ReferenceMath.RandomMatrix(rng, rng.Next(minRows, maxRows + 1), cols)).ToArray();
    }

    /// <summary>Threads start together and each runs its share of the calls, in a different order per thread.</summary>
    private static void RunConcurrently(Action<int> call, string context)
    {
        using var start = new Barrier(Threads);
        var tasks = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int k = 0; k < CallsPerThread; k++) call((t * CallsPerThread + k * 5) % (Threads * CallsPerThread));
        }, TaskCreationOptions.LongRunning)).ToArray();
        try
        {
            Task.WaitAll(tasks);
        }
        catch (AggregateException e)
        {
            throw new Xunit.Sdk.XunitException($"{context}: {e.InnerExceptions[0]}");
        }
    }
}
