using System;
using System.IO;
using System.Linq;
using ShardGen.Runtime;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The generated ForwardBackward of a Qwen2 checkpoint whose first layer attends fully and whose second slides a window
/// of 3 (use_sliding_window, max_window_layers = 1) over 7-token training windows, against hf_train.py `grads`
/// (PyTorch float64 autograd; hf_reference.py's layer_windows decides each layer's mask from config.json): the loss
/// within 1e-5 and every gradient within 1e-4 relative on 2 devices, with and without sequence parallelism.
/// </summary>
public sealed class LayerWindowTrainingTests
{
    [TorchTheory]
    [InlineData(false, 61)]
    [InlineData(true, 62)]
    public void GradientsMatchPyTorch(bool sequenceParallel, int seed)
    {
        const int devices = 2;
        string dir = TrainReference.TemporaryFolder();
        try
        {
            const int vocab = 103, batch = 3, seq = 7, step = 1;
            string Make(string name, params string[] extra) => TorchReference.Make(Path.Combine(dir, name), [
                "--model-type", "qwen2", "--vocab", $"{vocab}", "--hidden", "24", "--heads", "4", "--kv-heads", "2", "--ffn", "40",
                "--layers", "2", "--positions", "32", "--seed", $"{seed}", .. extra]);
            string checkpoint = Make("mixed", "--use-sliding-window", "--sliding-window", "3", "--max-window-layers", "1");
            var random = new Random(seed);
            string data = Path.Combine(dir, "tokens.npy");
            NpyFile.WriteInt32(data, Enumerable.Range(0, 120).Select(_ => random.Next(vocab)).ToArray());

            double Grads(string ckpt, string output)
            {
                TrainReference.Run("grads", ckpt, "--data", data, "--batch", $"{batch}", "--seq", $"{seq}", "--step", $"{step}", "--out", output);
                return Npy.Read(Path.Combine(output, "loss.npy")).Data[0];
            }
            double expectedLoss = Grads(checkpoint, Path.Combine(dir, "grads"));
            // Each kind of layer matters: all full, or all windowed, changes PyTorch's loss.
            foreach (var (name, options) in new[] { ("full", Array.Empty<string>()), ("windowed", new[] { "--use-sliding-window", "--sliding-window", "3", "--max-window-layers", "0" }) })
            {
                double other = Grads(Make(name, options), Path.Combine(dir, name + "-grads"));
                Assert.True(Math.Abs(expectedLoss - other) > 1e-4 * expectedLoss, $"every layer {name} gives PyTorch's loss {other:R} ≈ {expectedLoss:R}: this case tests nothing");
            }
            var expected = TrainReference.ReadFolder(Path.Combine(dir, "grads", "grads"));

            using var mesh = DeviceMesh.CreateCpu(devices);
            using var model = TrainableModels.Load(mesh, "qwen2", sequenceParallel, checkpoint);
            var (inputs, targets) = BackwardTorchTests.Batch(data, batch, seq, step);
            double loss = model.ForwardBackward(inputs, targets, Enumerable.Repeat(seq, batch).ToArray()) / inputs.Length;
            Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * expectedLoss, $"loss {loss:R} vs PyTorch {expectedLoss:R}");
            var (actual, _) = GradientGather.ByName(model.Training, checkpoint, TrainableModels.LayerSpecs("qwen2", sequenceParallel));
            Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
            BackwardTorchTests.AssertGradients(actual, expected, $"qwen2, layer 1 windowed (3), on {devices}{(sequenceParallel ? " (sequence parallel)" : "")}");
        }
        finally { Directory.Delete(dir, true); }
    }
}
