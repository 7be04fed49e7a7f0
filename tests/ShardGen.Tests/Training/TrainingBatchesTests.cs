using System;
using System.Linq;
using System.Numerics;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>Issue 14's window rule: the runtime's batches against hf_train.py's, and against the rule written out.</summary>
public sealed class TrainingBatchesTests
{
    [TorchTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Windows_EqualTheReferenceScripts_ForRandomShapes(int seed)
    {
        var random = new Random(seed * 7919);
        int replicas = new[] { 1, 2, 4 }[random.Next(3)];
        int batch = replicas * random.Next(1, 5), seq = random.Next(1, 40), n = seq + 1 + random.Next(0, 300), steps = random.Next(1, 12);
        var batches = new TrainingBatches(n, batch, seq, replicas);

        var reference = TrainReference.Windows(n, batch, seq, steps, replicas);
        Assert.Equal(steps * batch, reference.Count);
        foreach (var (step, replica, window, start) in reference)
        {
            Assert.Equal(window % replicas, replica);
            Assert.Equal(start, batches.Start(step, window));
        }
        // Each replica's windows, in order, are the reference's windows with its replica index.
        for (int s = 0; s < steps; s++)
            for (int r = 0; r < replicas; r++)
                Assert.Equal(
                    reference.Where(w => w.Step == s && w.Replica == r).Select(w => w.Start),
                    Enumerable.Range(0, batches.WindowsPerReplica).Select(k => batches.Start(s, batches.Window(r, k))));
    }

    [Theory]
    [InlineData(50, 4, 7, 1)]
    [InlineData(50, 4, 7, 2)]
    [InlineData(9, 6, 8, 3)]
    [InlineData(1000, 8, 33, 4)]
    public void Fill_TakesEachReplicasWindows_InputsAndTargetsOneFurther(int n, int batch, int seq, int replicas)
    {
        var random = new Random(n + batch + seq);
        var data = new TokenData("random", Enumerable.Range(0, n).Select(_ => random.Next(1000)).ToArray());
        var batches = new TrainingBatches(n, batch, seq, replicas);
        int length = batch / replicas * seq;
        for (int step = 0; step < 5; step++)
            for (int r = 0; r < replicas; r++)
            {
                var inputs = new int[length];
                var targets = new int[length];
                batches.Fill(data, step, r, inputs, targets);
                int k = 0;
                for (int b = 0; b < batch; b++)
                {
                    if (b % replicas != r) continue;
                    int start = (step * batch + b) * seq % (n - seq);
                    for (int t = 0; t < seq; t++)
                    {
                        Assert.Equal(data.Ids[start + t], inputs[k * seq + t]);
                        Assert.Equal(data.Ids[start + t + 1], targets[k * seq + t]);
                    }
                    k++;
                }
            }
    }

    [Fact]
    public void Start_IsExact_WhereStepTimesBatchTimesSeqOverflowsLong()
    {
        var batches = new TrainingBatches(int.MaxValue, 1 << 20, 1 << 20);
        long step = long.MaxValue / 3;
        int window = 12345;
        var expected = (new BigInteger(step) * (1 << 20) + window) * (1 << 20) % (int.MaxValue - (1 << 20));
        Assert.Equal((int)expected, batches.Start(step, window));
    }

    [Fact]
    public void BatchNotDivisibleByReplicas_IsAnError_NamingBoth()
    {
        var e = Assert.Throws<TrainingDataException>(() => new TrainingBatches(100, 6, 8, 4));
        Assert.Contains("--batch 6", e.Message);
        Assert.Contains("--data-parallel 4", e.Message);
    }

    [Fact]
    public void TooFewTokens_IsAnError_NamingSeqPlusOne()
    {
        var e = Assert.Throws<TrainingDataException>(() => new TrainingBatches(8, 1, 8));
        Assert.Contains("--seq + 1 = 9", e.Message);
        _ = new TrainingBatches(9, 1, 8);   // exactly L + 1 is enough: one window, start 0
    }

    [Theory]
    [InlineData(0, 8, 1)]
    [InlineData(4, 0, 1)]
    [InlineData(4, 8, 0)]
    public void NonPositiveSizes_AreErrors(int batch, int seq, int replicas) =>
        Assert.Throws<TrainingDataException>(() => new TrainingBatches(100, batch, seq, replicas));

    [Fact]
    public void Fill_RejectsWrongBufferSizesAndReplicas()
    {
        var batches = new TrainingBatches(100, 4, 8, 2);
        var data = new TokenData("zeros", new int[100]);
        Assert.Throws<ArgumentException>(() => batches.Fill(data, 0, 0, new int[32], new int[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => batches.Fill(data, 0, 2, new int[16], new int[16]));
        Assert.Throws<ArgumentException>(() => batches.Fill(new TokenData("short", new int[99]), 0, 0, new int[16], new int[16]));
    }
}
