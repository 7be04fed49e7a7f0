using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Runtime;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// Three optimizer steps at the same global batch: D × P = 2 × 2 (gradients summed across replicas) against 1 × 4 and
/// against hf_train.py `train --data-parallel 2` (PyTorch float64 autograd, torch.optim), losses within 1e-5 relative at
/// every step. The update is the optimizer kernels applied slice by slice (<see cref="SliceOptimizer"/>).
/// </summary>
public sealed class DataParallelTrainingTests
{
    private const double LossTolerance = 1e-5;

    [TorchTheory]
    [InlineData("llama", "sgd", 0.5, 41)]
    [InlineData("llama", "adamw", 0.01, 42)]
    [InlineData("gpt2", "sgd", 0.5, 43)] // AdamW only on models without attention biases (issue 14: the key bias's noise)
    public void TwoReplicasOfTwoDevicesTrainLikeFourDevicesAndPyTorch(string family, string optimizer, double lr, int seed)
    {
        const int d = 2, p = 2, batch = 4, steps = 3;
        string dir = TrainReference.TemporaryFolder();
        try
        {
            // 4 heads, 4 KV heads: trains on 4 devices; vocabulary 103 divides neither 2 nor 4.
            var (checkpoint, data) = BackwardTorchTests.Setup(dir, family, 4, seed);
            int seq = new Random(seed).Next(5, 10);
            string output = Path.Combine(dir, "train");
            TrainReference.Run("train", checkpoint, "--data", data, "--batch", $"{batch}", "--seq", $"{seq}", "--steps", $"{steps}",
                "--lr", $"{lr}", "--optimizer", optimizer, "--data-parallel", $"{d}", "--out", output);
            var expected = Npy.Read(Path.Combine(output, "losses.npy")).Data;

            var specs = family == "gpt2" ? Gpt2.LayerSpecs : Llama.LayerSpecs;
            var tokens = TokenData.Load(data);

            using var single = DeviceMesh.CreateCpu(d * p);
            using var whole = LanguageModelLoader.Load(single, family, specs, 0, false, checkpoint);
            var oneByFour = Train([whole], new TrainingBatches(tokens.Count, batch, seq), tokens, optimizer, (float)lr, steps, _ => { });

            using var dp = DataParallelMesh.CreateCpu(d, p);
            var cores = dp.Replicas.Select(m => LanguageModelLoader.Load(m, family, specs, 0, false, checkpoint)).ToArray();
            try
            {
                var twoByTwo = Train(cores, new TrainingBatches(tokens.Count, batch, seq, d), tokens, optimizer, (float)lr, steps,
                    t => dp.SumGradients(t));
                for (int s = 0; s < steps; s++)
                {
                    Assert.True(Math.Abs(twoByTwo[s] - expected[s]) <= LossTolerance * expected[s], $"step {s}: 2×2 loss {twoByTwo[s]:R} vs PyTorch {expected[s]:R}");
                    Assert.True(Math.Abs(oneByFour[s] - expected[s]) <= LossTolerance * expected[s], $"step {s}: 1×4 loss {oneByFour[s]:R} vs PyTorch {expected[s]:R}");
                    Assert.True(Math.Abs(twoByTwo[s] - oneByFour[s]) <= LossTolerance * oneByFour[s], $"step {s}: 2×2 loss {twoByTwo[s]:R} vs 1×4 {oneByFour[s]:R}");
                }
            }
            finally
            {
                foreach (var c in cores) c.Dispose();
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Each step's mean loss over the global batch: the replicas' forward–backward, the sum across them, the update.</summary>
    private static double[] Train(ShardedModelCore[] replicas, TrainingBatches batches, TokenData tokens, string optimizer, float lr, int steps,
        Action<ModelTraining[]> sum)
    {
        int seq = batches.Sequence, n = batches.WindowsPerReplica * seq;
        var lengths = Enumerable.Repeat(seq, batches.WindowsPerReplica).ToArray();
        var optimizers = replicas.Select(c => new SliceOptimizer(c.Training, optimizer, lr)).ToArray();
        var losses = new double[steps];
        for (int step = 0; step < steps; step++)
        {
            double total = 0;
            for (int r = 0; r < replicas.Length; r++)
            {
                var (x, y) = (new int[n], new int[n]);
                batches.Fill(tokens, step, r, x, y);
                total += BackwardDriver.ForwardBackward(replicas[r], x, y, lengths, 1f / (batches.Batch * seq));
            }
            losses[step] = total / (batches.Batch * seq);
            sum(replicas.Select(c => c.Training).ToArray());
            foreach (var o in optimizers) o.Step();
        }
        return losses;
    }
}

/// <summary>
/// SGD or AdamW (torch.optim's defaults: β 0.9/0.999, ε 1e-8, weight decay 0.01) on every parameter slice from its
/// gradient slice with the device kernels, then the gradients zeroed; AdamW's m and v are slices of the same shapes.
/// A replicated parameter's copies get the same gradient, so each device updates its own copy alike.
/// </summary>
internal sealed class SliceOptimizer(ModelTraining training, string kind, float lr)
{
    private readonly List<(MatrixView M, MatrixView V)> _moments = new();
    private int _step;

    public void Step()
    {
        _step++;
        if (kind == "adamw" && _moments.Count == 0)
            foreach (var g in training.Gradients)
                _moments.Add((Zeros(g.Value), Zeros(g.Value)));
        for (int i = 0; i < training.Gradients.Count; i++)
        {
            var (w, g) = (training.Parameters[i].Value, training.Gradients[i].Value);
            if (kind == "adamw") g.Device.AdamWStep(w, g, _moments[i].M, _moments[i].V, lr, 0.9f, 0.999f, 1e-8f, 0.01f, _step);
            else g.Device.SgdStep(w, g, lr);
            g.Device.Scale(g, 0f);
        }
        training.Core.Mesh.Synchronize();
    }

    private static MatrixView Zeros(MatrixView like)
    {
        var buffer = like.Device.Allocate(Math.Max(1, like.Rows * like.Cols));
        var view = new MatrixView(buffer, 0, like.Rows, like.Cols, like.Cols);
        like.Device.Upload(new float[like.Rows * like.Cols], like.Cols, view);
        return view;
    }
}
