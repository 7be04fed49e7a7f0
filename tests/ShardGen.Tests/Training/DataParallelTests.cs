using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// D × P data × tensor parallelism at the same global batch: each replica's forward–backward on its windows (b mod D = r)
/// with the gradient scale of the global mean, then <see cref="DataParallelMesh.SumGradients"/>, gives the gradients and
/// loss of one 1 × D·P (and 1 × P) model on the whole batch, and of PyTorch float64 autograd (hf_train.py `grads`).
/// </summary>
public sealed class DataParallelTests
{
    [Theory]
    [InlineData("gpt2", 2, 2, 4, 11)]
    [InlineData("gpt2", 3, 1, 3, 14)]
    [InlineData("llama", 2, 1, 2, 12)]
    [InlineData("llama", 2, 1, 1, 13)]
    [InlineData("llama", 2, 2, 2, 15)]
    [InlineData("llama", 2, 4, 1, 16)]
    public void ReplicasSumToTheGradientsOfOneModelOnTheWholeBatch(string family, int d, int p, int single, int seed)
    {
        // TinyGpt2 has a key/value head per query head (trains on 4 devices); TinyLlama's 2 KV heads are
        // shared by 2 devices each on P = 4 (their gradient summed within each replica's pairs).
        var weights = LanguageModelReference.RandomWeights(family == "gpt2" ? TinyGpt2.PlanFor(1) : TinyLlama.PlanFor(1), seed);
        Func<DeviceMesh, ITrainableLanguageModel> create = family == "gpt2"
            ? m => TinyGpt2.Create(m, weights)
            : m => TinyLlama.Create(m, weights);
        var random = new Random(seed);
        var tokens = new TokenData("random", Enumerable.Range(0, 120 + random.Next(50)).Select(_ => random.Next(1003)).ToArray());
        int batch = 2 * d, seq = random.Next(4, 8), step = random.Next(0, 5);
        float scale = 1f / (batch * seq);

        using var oneMesh = DeviceMesh.CreateCpu(single);
        using var one = create(oneMesh);
        var whole = new TrainingBatches(tokens.Count, batch, seq);
        var (inputs, targets) = (new int[batch * seq], new int[batch * seq]);
        whole.Fill(tokens, step, 0, inputs, targets);
        double expectedLoss = one.ForwardBackward(inputs, targets, Enumerable.Repeat(seq, batch).ToArray(), scale) / (batch * seq);
        var expected = Gather(one.Training);

        using var dp = DataParallelMesh.CreateCpu(d, p);
        var replicas = dp.Replicas.Select(create).ToArray();
        try
        {
            var split = new TrainingBatches(tokens.Count, batch, seq, d);
            double lossSum = 0;
            for (int r = 0; r < d; r++)
            {
                var (x, y) = (new int[split.WindowsPerReplica * seq], new int[split.WindowsPerReplica * seq]);
                split.Fill(tokens, step, r, x, y);
                lossSum += replicas[r].ForwardBackward(x, y, Enumerable.Repeat(seq, split.WindowsPerReplica).ToArray(), scale);
            }
            dp.SumGradients(replicas.Select(m => m.Training).ToArray());
            double loss = lossSum / (batch * seq);
            Assert.True(Math.Abs(loss - expectedLoss) <= 1e-6 * expectedLoss, $"loss {loss:R} on {d}×{p} vs {expectedLoss:R} on 1×{single}");

            for (int r = 0; r < d; r++)
            {
                var actual = Gather(replicas[r].Training);
                Assert.Equal(expected.Keys.OrderBy(k => k.ToString()), actual.Keys.OrderBy(k => k.ToString()));
                double typical = expected.Values.Select(GradientGather.Norm).OrderBy(v => v).ElementAt(expected.Count / 2);
                foreach (var (key, reference) in expected)
                {
                    if (key.ToString().Contains("KeyBias"))
                    {
                        // Zero in exact arithmetic (softmax ignores a per-query constant): float32 noise in both, which must stay noise.
                        Assert.True(GradientGather.Norm(actual[key]) <= 1e-4 * typical, $"replica {r} of {d}×{p}: {key} should be zero");
                        continue;
                    }
                    double error = GradientGather.RelativeError(actual[key], reference);
                    Assert.True(error <= 1e-5, $"replica {r} of {d}×{p}: {key} differs from 1×{single} by {error:E2} (relative)");
                }
            }
        }
        finally
        {
            foreach (var m in replicas) m.Dispose();
        }
    }

    [TorchTheory]
    [InlineData("llama", 2, 2, 2, 31)]
    [InlineData("gpt2", 4, 2, 2, 32)]
    [InlineData("llama", 2, 2, 1, 33)]
    public void ReplicaGradientsMatchPyTorchOnTheGlobalBatch(string family, int kvHeads, int d, int p, int seed)
    {
        string dir = TrainReference.TemporaryFolder();
        try
        {
            var (checkpoint, data) = BackwardTorchTests.Setup(dir, family, kvHeads, seed);
            var random = new Random(seed);
            int batch = 2 * d, seq = random.Next(5, 10), step = random.Next(0, 10);
            string output = Path.Combine(dir, "grads");
            TrainReference.Run("grads", checkpoint, "--data", data, "--batch", $"{batch}", "--seq", $"{seq}", "--step", $"{step}", "--out", output);
            double expectedLoss = Npy.Read(Path.Combine(output, "loss.npy")).Data[0];
            var expected = TrainReference.ReadFolder(Path.Combine(output, "grads"));

            var specs = family == "gpt2" ? Gpt2.LayerSpecs : Llama.LayerSpecs;
            var tokens = TokenData.Load(data);
            var split = new TrainingBatches(tokens.Count, batch, seq, d);
            using var dp = DataParallelMesh.CreateCpu(d, p);
            var cores = dp.Replicas.Select(m => LanguageModelLoader.Load(m, family, specs, 0, false, checkpoint)).ToArray();
            try
            {
                double lossSum = 0;
                for (int r = 0; r < d; r++)
                {
                    var (x, y) = (new int[split.WindowsPerReplica * seq], new int[split.WindowsPerReplica * seq]);
                    split.Fill(tokens, step, r, x, y);
                    lossSum += BackwardDriver.ForwardBackward(cores[r], x, y, Enumerable.Repeat(seq, split.WindowsPerReplica).ToArray(), 1f / (batch * seq));
                }
                dp.SumGradients(cores.Select(c => c.Training).ToArray());
                double loss = lossSum / (batch * seq);
                Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * expectedLoss, $"loss {loss:R} on {d}×{p} vs PyTorch {expectedLoss:R}");
                for (int r = 0; r < d; r++)
                {
                    var (actual, spread) = GradientGather.ByName(cores[r].Training, checkpoint, specs);
                    Assert.True(spread <= 1e-6, $"replicated gradients differ between devices by {spread:E2} of their size");
                    BackwardTorchTests.AssertGradients(actual, expected, $"{family} replica {r} of {d}×{p}");
                }
            }
            finally
            {
                foreach (var c in cores) c.Dispose();
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Every gradient tensor put together from its slices (a replicated region is read once).</summary>
    internal static Dictionary<WeightKey, double[]> Gather(ModelTraining training)
    {
        var rows = new Dictionary<WeightKey, int>();
        var cols = new Dictionary<WeightKey, int>();
        foreach (var s in training.Gradients)
        {
            rows[s.Key] = Math.Max(rows.GetValueOrDefault(s.Key), s.Row0 + s.Rows);
            cols[s.Key] = Math.Max(cols.GetValueOrDefault(s.Key), s.Col0 + s.Cols);
        }
        var full = rows.Keys.ToDictionary(k => k, k => new double[rows[k] * cols[k]]);
        foreach (var s in training.Gradients)
        {
            var host = new float[s.Rows * s.Cols];
            s.Download(host);
            var target = full[s.Key];
            for (int r = 0; r < s.Rows; r++)
                for (int c = 0; c < s.Cols; c++) target[(s.Row0 + r) * cols[s.Key] + s.Col0 + c] = host[r * s.Cols + c];
        }
        return full;
    }
}
