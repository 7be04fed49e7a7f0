using System;
using System.Linq;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// A steady-state data-parallel step allocates no device memory either: the replica sum's bucket buffers and the
/// gradient norm's sums are kept from the first step (TrainingPassAllocationTests covers the pass itself). Reusing them
/// must not change the numbers: each rank's packed buckets take turns in one buffer, so the sum after step 3 must equal
/// the host sum of the replicas' own gradients, and the norm's kept sums must start from zero again (step 3's norm is
/// step 1's on the same batch, not √2 or √3 times it).
/// </summary>
public sealed class DataParallelStepAllocationTests
{
    [Theory]
    [InlineData(2, 1, 256)]      // many small packed buckets on one rank
    [InlineData(2, 2, 1024)]     // packed buckets on two ranks, whole slices reduced where they lie
    [InlineData(3, 2, 64 << 10)] // three replicas, few buckets
    public void DataParallelStepsAfterTheFirstAllocateNothing(int d, int p, int bucketBytes)
    {
        int seed = 100 * d + p;
        var weights = LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), seed);
        using var dp = DataParallelMesh.CreateCpu(d, p);
        var replicas = dp.Replicas.Select(m => TinyLlama.Create(m, weights)).ToArray();
        try
        {
            var rng = new Random(seed);
            int[] lengths = [5, 4];
            var inputs = replicas.Select(_ => Enumerable.Range(0, 9).Select(_ => rng.Next(1003)).ToArray()).ToArray();
            var targets = replicas.Select(_ => Enumerable.Range(0, 9).Select(_ => rng.Next(1003)).ToArray()).ToArray();
            var trainings = replicas.Select(m => m.Training).ToArray();
            void Step()
            {
                for (int r = 0; r < d; r++)
                {
                    trainings[r].ZeroGradients();
                    replicas[r].ForwardBackward(inputs[r], targets[r], lengths);
                }
            }

            Step();
            dp.SumGradients(trainings, bucketBytes);
            // Every replica's first norm makes its kept sums; each replica holds the summed gradient, so all give one norm.
            double firstNorm = trainings.Select(t => t.GradientNorm()).ToArray()[0];
            var made = Made(dp);
            for (int step = 2; step <= 3; step++)
            {
                Step();
                var own = trainings.Select(Download).ToArray();
                dp.SumGradients(trainings, bucketBytes);
                var norms = trainings.Select(t => t.GradientNorm()).ToArray();
                Assert.True(made.SequenceEqual(Made(dp)),
                    $"step {step} made new buffers: {string.Join(", ", Made(dp).Zip(made, (now, then) => now - then))} per device (replica-major)");
                foreach (double norm in norms)
                    Assert.True(Math.Abs(norm - firstNorm) <= 1e-6 * firstNorm, $"step {step}: gradient norm {norm:R}, step 1's {firstNorm:R}");
                if (step < 3) continue;
                for (int r = 0; r < d; r++)
                {
                    var summed = Download(trainings[r]);
                    for (int s = 0; s < summed.Length; s++)
                    {
                        var slice = trainings[r].Gradients[s];
                        double scale = Math.Max(1e-6, Enumerable.Range(0, d).Max(q => own[q][s].Max(v => Math.Abs(v))));
                        for (int j = 0; j < summed[s].Length; j++)
                        {
                            double expected = 0;
                            for (int q = 0; q < d; q++) expected += own[q][s][j];
                            Assert.True(Math.Abs(summed[s][j] - expected) <= 1e-5 * scale,
                                $"replica {r}, gradient {slice.Key} on rank {slice.Rank}, element {j}: {summed[s][j]} after the sum, {expected} on the host");
                        }
                    }
                }
            }
        }
        finally
        {
            foreach (var m in replicas) m.Dispose();
        }
    }

    private static long[] Made(DataParallelMesh dp) => dp.Replicas.SelectMany(m => m.Devices).Select(x => x.BuffersAllocated).ToArray();

    private static float[][] Download(ModelTraining training) => training.Gradients.Select(g =>
    {
        var host = new float[g.Rows * g.Cols];
        g.Value.Device.Download(g.Value, host, g.Cols);
        return host;
    }).ToArray();
}
