using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Runtime;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The data-parallel gradient sum: random gradients per replica, summed by <see cref="ReplicaGroup.SumGradients(IReadOnlyList{ModelTraining}, int)"/>,
/// against a double-precision host sum; the bytes against the ring's 2(D−1)/D; bad input refused before anything changes.
/// </summary>
public sealed class ReplicaGroupTests
{
    /// <summary>TinyLlama (vocabulary 1003: uneven shards) on one replica mesh, from the same weights on every replica.</summary>
    internal static ShardedModelCore Load(DeviceMesh mesh, int seed = 7) =>
        LanguageModelLoader.Create(mesh, "TinyLlama", TinyLlama.LayerSpecs, 0, false,
            LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), seed));

    [Theory]
    [InlineData(2, 2, 1 << 12)]      // many small buckets, and slices larger than a bucket reduced where they lie
    [InlineData(2, 1, 1 << 12)]
    [InlineData(3, 2, 1 << 10)]      // odd D: uneven ring chunks
    [InlineData(2, 2, ReplicaGroup.DefaultBucketBytes)] // one bucket per rank
    public void SumsEveryGradientSliceAcrossReplicas(int d, int p, int bucketBytes)
    {
        using var dp = DataParallelMesh.CreateCpu(d, p);
        var cores = dp.Replicas.Select(m => Load(m)).ToArray();
        try
        {
            var trainings = cores.Select(c => c.Training).ToArray();
            var rng = new Random(1000 * d + p);
            var given = trainings.Select(t => t.Gradients.Select(s => Fill(s, rng)).ToArray()).ToArray();
            var weightsBefore = Read(trainings[0].Parameters[0]);

            dp.SumGradients(trainings, bucketBytes);

            var slices = trainings[0].Gradients;
            for (int i = 0; i < slices.Count; i++)
            {
                var expected = new double[given[0][i].Length];
                for (int r = 0; r < d; r++)
                    for (int k = 0; k < expected.Length; k++) expected[k] += given[r][i][k];
                for (int r = 0; r < d; r++)
                {
                    var actual = Read(trainings[r].Gradients[i]);
                    for (int k = 0; k < expected.Length; k++)
                        Assert.True(Math.Abs(actual[k] - expected[k]) <= 1e-6 * (1 + Math.Abs(expected[k])),
                            $"replica {r}, slice {i} ({slices[i].Key} on rank {slices[i].Rank}), element {k}: {actual[k]} vs {expected[k]}");
                }
            }
            Assert.Equal(weightsBefore, Read(trainings[0].Parameters[0]));

            // Each device sends 2(D−1)/D of its gradient bytes; per bucket a ring chunk is within one float of n/D.
            int buckets = dp.GradientTraffic.Records.Count;
            Assert.True(buckets >= p);
            for (int rank = 0; rank < p; rank++)
            {
                long gradientBytes = slices.Where(s => s.Rank == rank).Sum(s => (long)s.Rows * s.Cols) * sizeof(float);
                double predicted = 2.0 * (d - 1) / d * gradientBytes;
                for (int r = 0; r < d; r++)
                {
                    long sent = dp.GradientTraffic.BytesSent(r * p + rank);
                    Assert.InRange(sent, predicted - buckets * 2 * (d - 1) * sizeof(float), predicted + buckets * 2 * (d - 1) * sizeof(float));
                }
            }
            Assert.All(dp.GradientTraffic.Records, rec => Assert.Equal(d, rec.GroupSize));
            Assert.Equal(dp.GradientTraffic.TotalBytesSent, dp.GradientTraffic.Records.Sum(rec => rec.TotalBytesSent));
        }
        finally
        {
            foreach (var c in cores) c.Dispose();
        }
    }

    [Fact]
    public void TheHostPathSumsLikeTheRing()
    {
        // Devices without the CPU's shared memory (ILGPU) download, add in replica order and upload: forced here on CPU devices.
        using var dp = DataParallelMesh.CreateCpu(3, 2);
        var cores = dp.Replicas.Select(m => Load(m)).ToArray();
        try
        {
            var trainings = cores.Select(c => c.Training).ToArray();
            var rng = new Random(77);
            var given = trainings.Select(t => t.Gradients.Select(s => Fill(s, rng)).ToArray()).ToArray();
            ReplicaAllReduce.Run(trainings, GradientBuckets.Plan(trainings, 1 << 10), dp.GradientTraffic, stageThroughHost: true);
            for (int i = 0; i < trainings[0].Gradients.Count; i++)
                for (int r = 0; r < 3; r++)
                {
                    var actual = Read(trainings[r].Gradients[i]);
                    for (int k = 0; k < actual.Length; k++)
                    {
                        double expected = given[0][i][k] + given[1][i][k] + given[2][i][k];
                        Assert.True(Math.Abs(actual[k] - expected) <= 1e-6 * (1 + Math.Abs(expected)), $"replica {r}, slice {i}, element {k}: {actual[k]} vs {expected}");
                    }
                }
            Assert.True(dp.GradientTraffic.TotalBytesSent > 0);
        }
        finally
        {
            foreach (var c in cores) c.Dispose();
        }
    }

    [Fact]
    public void OneReplicaIsLeftAsItIs()
    {
        using var dp = DataParallelMesh.CreateCpu(1, 2);
        using var core = Load(dp.Replicas[0]);
        var given = Fill(core.Training.Gradients[0], new Random(3));
        dp.SumGradients([core.Training]);
        Assert.Equal(given.Select(v => (float)v), Read(core.Training.Gradients[0]).Select(v => (float)v));
        Assert.Equal(0, dp.GradientTraffic.TotalBytesSent);
    }

    [Fact]
    public void RefusesReplicasThatDoNotLineUpBeforeChangingAnything()
    {
        using var two = DataParallelMesh.CreateCpu(2, 2);
        using var one = DeviceMesh.CreateCpu(1);
        using var a = Load(two.Replicas[0]);
        using var b = Load(two.Replicas[1]);
        using var c = Load(one);
        var rng = new Random(5);
        var before = Fill(a.Training.Gradients[0], rng);

        var e = Assert.Throws<ArgumentException>(() => ReplicaGroup.SumGradients([a.Training, c.Training]));
        Assert.Contains("1 devices but replica 0's has 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => ReplicaGroup.SumGradients([a.Training, a.Training]));
        Assert.Contains("same model", e.Message);
        e = Assert.Throws<ArgumentException>(() => two.SumGradients([b.Training, a.Training]));
        Assert.Contains("replicas[0] is not the model loaded on Replicas[0]", e.Message);
        e = Assert.Throws<ArgumentException>(() => two.SumGradients([a.Training]));
        Assert.Contains("1 replicas' gradients for a data-parallel mesh of 2 replicas", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ReplicaGroup.SumGradients([a.Training, b.Training], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => DataParallelMesh.CreateCpu(0, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => DataParallelMesh.CreateCpu(2, 0));

        using var other = DataParallelMesh.CreateCpu(2, 2);
        using var gpt = LanguageModelLoader.Create(other.Replicas[1], "TinyGpt2", TinyGpt2.LayerSpecs, 0, false,
            LanguageModelReference.RandomWeights(TinyGpt2.PlanFor(1), 1));
        e = Assert.Throws<ArgumentException>(() => ReplicaGroup.SumGradients([a.Training, gpt.Training]));
        Assert.Contains("'TinyGpt2' but replica 0 a 'TinyLlama'", e.Message);

        Assert.Equal(before.Select(v => (float)v), Read(a.Training.Gradients[0]).Select(v => (float)v));
        Assert.Equal(0, two.GradientTraffic.TotalBytesSent);
    }

    [Fact]
    public void TrainingBatchesRefuseABatchThatDoesNotDivideByTheReplicas()
    {
        var e = Assert.Throws<TrainingDataException>(() => new TrainingBatches(1000, 6, 8, replicas: 4));
        Assert.Contains("--batch 6 is not divisible by --data-parallel 4", e.Message);
    }

    /// <summary>Uploads random values into the slice; returns them.</summary>
    internal static double[] Fill(ParameterSlice slice, Random rng)
    {
        var values = new float[slice.Rows * slice.Cols];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 2 - 1);
        slice.Upload(values);
        return values.Select(v => (double)v).ToArray();
    }

    internal static double[] Read(ParameterSlice slice)
    {
        var values = new float[slice.Rows * slice.Cols];
        slice.Download(values);
        return values.Select(v => (double)v).ToArray();
    }
}
