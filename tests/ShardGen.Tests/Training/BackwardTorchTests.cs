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
/// The generated ForwardBackward (README's family classes, <see cref="TrainableModels"/>) against hf_train.py's
/// `grads` (PyTorch float64 autograd) on the same random checkpoint and batch: the loss within 1e-5 relative and every
/// parameter's gradient within 1e-4 relative (‖g − g_ref‖/‖g_ref‖), gathered from every device's slices by the
/// checkpoint's names. Vocabulary 103 divides no P; windows are packed sequences.
/// </summary>
public sealed class BackwardTorchTests
{
    private const double LossTolerance = 1e-5;
    private const double GradientTolerance = 1e-4;

    [TorchTheory]
    [InlineData("llama", 2, 1, false, 21)]
    [InlineData("llama", 2, 2, false, 22)]
    [InlineData("llama", 4, 4, false, 23)]
    [InlineData("qwen2", 2, 2, false, 24)]
    [InlineData("qwen2", 4, 4, false, 25)]
    [InlineData("gpt2", 4, 1, false, 26)]
    [InlineData("gpt2", 4, 2, false, 27)]
    [InlineData("gpt2", 4, 4, false, 28)]
    [InlineData("llama", 2, 2, true, 29)]
    [InlineData("gpt2", 4, 4, true, 30)]
    public void GradientsMatchPyTorch(string family, int kvHeads, int devices, bool sequenceParallel, int seed)
    {
        string dir = TrainReference.TemporaryFolder();
        try
        {
            var (checkpoint, data) = Setup(dir, family, kvHeads, seed);
            var random = new Random(seed);
            int batch = random.Next(2, 4), seq = random.Next(5, 10), step = random.Next(0, 10);
            string output = Path.Combine(dir, "grads");
            TrainReference.Run("grads", checkpoint, "--data", data, "--batch", $"{batch}", "--seq", $"{seq}", "--step", $"{step}", "--out", output);
            double expectedLoss = Npy.Read(Path.Combine(output, "loss.npy")).Data[0];
            var expected = TrainReference.ReadFolder(Path.Combine(output, "grads"));

            using var mesh = DeviceMesh.CreateCpu(devices);
            using var model = TrainableModels.Load(mesh, family, sequenceParallel, checkpoint);
            var (inputs, targets) = Batch(data, batch, seq, step);
            double sum = model.ForwardBackward(inputs, targets, Enumerable.Repeat(seq, batch).ToArray());
            double loss = sum / inputs.Length;
            Assert.True(Math.Abs(loss - expectedLoss) <= LossTolerance * expectedLoss, $"loss {loss:R} vs PyTorch {expectedLoss:R}");

            var (actual, spread) = GradientGather.ByName(model.Training, checkpoint, TrainableModels.LayerSpecs(family, sequenceParallel));
            Assert.True(spread <= 1e-6, $"replicated gradients differ between devices by {spread:E2} of their size");
            Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
            AssertGradients(actual, expected, $"{family} on {devices}{(sequenceParallel ? " (sequence parallel)" : "")}");
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// Every gradient within 1e-4 of its norm. A gradient that is zero in exact arithmetic (the key bias: softmax ignores
    /// a per-query constant) has no scale of its own; float32 leaves noise there, bounded by 1e-4 of the query bias's.
    /// </summary>
    internal static void AssertGradients(Dictionary<string, double[]> actual, Dictionary<string, double[]> expected, string what)
    {
        double typical = expected.Values.Select(GradientGather.Norm).OrderBy(v => v).ElementAt(expected.Count / 2);
        foreach (var (name, reference) in expected)
        {
            double norm = GradientGather.Norm(reference);
            if (norm <= 1e-9 * typical)
            {
                double size = GradientGather.Norm(actual[name]);
                Assert.True(size <= GradientTolerance * typical, $"{what}: {name} should be zero, ‖g‖ = {size:E2} (typical ‖g‖ {typical:E2})");
                continue;
            }
            double error = GradientGather.RelativeError(actual[name], reference);
            Assert.True(error <= GradientTolerance, $"{what}: {name} relative error {error:E2} (‖g_ref‖ = {norm:E3})");
        }
    }

    internal static (int[] Inputs, int[] Targets) Batch(string data, int batch, int seq, int step)
    {
        var tokens = TokenData.Load(data);
        var batches = new TrainingBatches(tokens.Count, batch, seq);
        var inputs = new int[batch * seq];
        var targets = new int[batch * seq];
        batches.Fill(tokens, step, 0, inputs, targets);
        return (inputs, targets);
    }

    // A small random checkpoint: vocabulary 103 (divides no P > 1), FFN 40 (the MLP columns split by P), 2 blocks.
    internal static (string Checkpoint, string Data) Setup(string dir, string family, int kvHeads, int seed)
    {
        const int vocab = 103;
        string checkpoint = TorchReference.Make(Path.Combine(dir, "ckpt"), "--model-type", family, "--vocab", $"{vocab}", "--hidden", "24",
            "--heads", "4", "--kv-heads", $"{kvHeads}", "--ffn", "40", "--layers", "2", "--positions", "32", "--seed", $"{seed}");
        var random = new Random(seed);
        string data = Path.Combine(dir, "tokens.npy");
        NpyFile.WriteInt32(data, Enumerable.Range(0, 150 + random.Next(100)).Select(_ => random.Next(vocab)).ToArray());
        return (checkpoint, data);
    }
}
