using System;
using System.IO;
using System.Linq;
using ShardGen.Runtime;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The generated ForwardBackward of a Mistral checkpoint whose sliding_window (3) is shorter than the training windows
/// (7 tokens) against hf_train.py `grads` (PyTorch float64 autograd with transformers' sliding-window mask): the loss
/// within 1e-5 and every gradient within 1e-4 relative, on 1, 2 and 4 devices and under sequence parallelism.
/// </summary>
public sealed class SlidingWindowTrainingTests
{
    [TorchTheory]
    [InlineData(1, false, 41)]
    [InlineData(2, false, 42)]
    [InlineData(4, false, 43)]
    [InlineData(2, true, 44)]
    public void GradientsMatchPyTorch(int devices, bool sequenceParallel, int seed)
    {
        string dir = TrainReference.TemporaryFolder();
        try
        {
            const int vocab = 103, batch = 3, seq = 7, step = 1;
            string Make(string name, params string[] extra) => TorchReference.Make(Path.Combine(dir, name), [
                "--model-type", "mistral", "--vocab", $"{vocab}", "--hidden", "24", "--heads", "4", "--kv-heads", "2", "--ffn", "40",
                "--layers", "2", "--positions", "32", "--seed", $"{seed}", .. extra]);
            string checkpoint = Make("windowed", "--sliding-window", "3"), plain = Make("plain");
            var random = new Random(seed);
            string data = Path.Combine(dir, "tokens.npy");
            NpyFile.WriteInt32(data, Enumerable.Range(0, 120).Select(_ => random.Next(vocab)).ToArray());

            double Grads(string ckpt, string output)
            {
                TrainReference.Run("grads", ckpt, "--data", data, "--batch", $"{batch}", "--seq", $"{seq}", "--step", $"{step}", "--out", output);
                return Npy.Read(Path.Combine(output, "loss.npy")).Data[0];
            }
            double expectedLoss = Grads(checkpoint, Path.Combine(dir, "grads"));
            double plainLoss = Grads(plain, Path.Combine(dir, "plain-grads"));
            Assert.True(Math.Abs(expectedLoss - plainLoss) > 1e-4 * expectedLoss, "the window does not change PyTorch's loss: this case tests nothing");
            var expected = TrainReference.ReadFolder(Path.Combine(dir, "grads", "grads"));

            using var mesh = DeviceMesh.CreateCpu(devices);
            using var model = TrainableModels.Load(mesh, "mistral", sequenceParallel, checkpoint);
            var (inputs, targets) = BackwardTorchTests.Batch(data, batch, seq, step);
            double loss = model.ForwardBackward(inputs, targets, Enumerable.Repeat(seq, batch).ToArray()) / inputs.Length;
            Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * expectedLoss, $"loss {loss:R} vs PyTorch {expectedLoss:R}");
            var (actual, _) = GradientGather.ByName(model.Training, checkpoint, TrainableModels.LayerSpecs("mistral", sequenceParallel));
            Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
            BackwardTorchTests.AssertGradients(actual, expected, $"mistral, window 3, on {devices}{(sequenceParallel ? " (sequence parallel)" : "")}");
        }
        finally { Directory.Delete(dir, true); }
    }
}
