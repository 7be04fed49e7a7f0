using System;
using System.Globalization;
using System.IO;
using System.Linq;
using ShardGen.Samples;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The training reference checked by independent paths: its step-0 loss against cross-entropy computed here from
/// hf_reference.py's float64 logits on the batch the runtime cuts; its first SGD and AdamW steps against the update
/// rules written out here from its `grads` mode; its outputs (CSV = .npy, a tied head saved once).
/// </summary>
public sealed class HfTrainTests
{
    [TorchTheory]
    [InlineData("llama", 2)]
    [InlineData("qwen2", 3)]
    [InlineData("gpt2", 4)]
    public void StepZeroLoss_IsTheCrossEntropyOfTheReferenceLogits(string family, int seed)
    {
        string dir = TrainReference.TemporaryFolder();
        try
        {
            var (checkpoint, data, vocab) = Setup(dir, family, seed);
            var random = new Random(seed);
            int batch = random.Next(1, 4), seq = random.Next(2, 12), step = random.Next(0, 20);
            string output = Path.Combine(dir, "grads");
            TrainReference.Run("grads", checkpoint, "--data", data, "--batch", $"{batch}", "--seq", $"{seq}", "--step", $"{step}", "--out", output);
            double loss = Npy.Read(Path.Combine(output, "loss.npy")).Data[0];

            var tokens = TokenData.Load(data);
            var batches = new TrainingBatches(tokens.Count, batch, seq);
            var inputs = new int[batch * seq];
            var targets = new int[batch * seq];
            batches.Fill(tokens, step, 0, inputs, targets);
            double[,] logits = TorchReference.Logits(checkpoint, inputs, Enumerable.Repeat(seq, batch).ToArray());
            Assert.Equal(vocab, logits.GetLength(1));
            double sum = 0;
            for (int t = 0; t < inputs.Length; t++)
            {
                double max = double.NegativeInfinity, exps = 0;
                for (int v = 0; v < vocab; v++) max = Math.Max(max, logits[t, v]);
                for (int v = 0; v < vocab; v++) exps += Math.Exp(logits[t, v] - max);
                sum += max + Math.Log(exps) - logits[t, targets[t]];
            }
            double expected = sum / inputs.Length;
            Assert.True(Math.Abs(loss - expected) <= 1e-12 * expected, $"hf_train {loss:R}, logits' cross-entropy {expected:R}");
        }
        finally { Directory.Delete(dir, true); }
    }

    [TorchTheory]
    [InlineData("llama", "sgd", 5, 0.0)]
    [InlineData("gpt2", "sgd", 6, 0.0)]
    [InlineData("qwen2", "adamw", 7, 0.0)]
    [InlineData("gpt2", "adamw", 8, 0.0)]
    [InlineData("llama", "sgd", 10, 0.05)]
    public void FirstStep_IsTheOptimizersRule_OnEveryParameter(string family, string optimizer, int seed, double clip)
    {
        string dir = TrainReference.TemporaryFolder();
        try
        {
            var (checkpoint, data, _) = Setup(dir, family, seed);
            const double lr = 0.05;
            string[] batch = ["--data", data, "--batch", "2", "--seq", "7"];
            TrainReference.Run(["grads", checkpoint, .. batch, "--out", Path.Combine(dir, "g")]);
            TrainReference.Run(["train", checkpoint, .. batch, "--steps", "1", "--lr", lr.ToString(CultureInfo.InvariantCulture),
                "--optimizer", optimizer, "--weights-npy", "--out", Path.Combine(dir, "t"),
                .. clip > 0 ? ["--clip", clip.ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>()]);
            var before = TrainReference.ReadFolder(TorchReference.Dump(checkpoint, Path.Combine(dir, "w0")));
            var grads = TrainReference.ReadFolder(Path.Combine(dir, "g", "grads"));
            var after = TrainReference.ReadFolder(Path.Combine(dir, "t", "weights"));

            Assert.Equal(grads.Keys.OrderBy(k => k), after.Keys.OrderBy(k => k));
            // torch's clip_grad_norm_: one global L2 norm over every parameter, each counted once; g·C/(‖g‖ + 1e-6) when larger.
            double norm = Math.Sqrt(grads.Values.Sum(g => g.Sum(x => x * x)));
            double scale = clip > 0 ? Math.Min(1, clip / (norm + 1e-6)) : 1;
            Assert.True(clip == 0 || scale < 0.5, $"the clip {clip} should bite: ‖g‖ = {norm}");
            Assert.DoesNotContain("lm_head.weight", after.Keys.Where(_ => family == "gpt2"));   // tied: one parameter
            Assert.DoesNotContain(after.Keys, k => k.EndsWith(".attn.bias", StringComparison.Ordinal) || k.EndsWith("masked_bias", StringComparison.Ordinal));
            int moved = 0;
            foreach (var (name, w1) in after)
            {
                double[] w0 = before[name], g = grads[name];
                for (int i = 0; i < w1.Length; i++)
                {
                    // AdamW's first step: decay, then m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε).
                    double expected = optimizer == "sgd" ? w0[i] - lr * scale * g[i] : w0[i] * (1 - lr * 0.01) - lr * g[i] / (Math.Abs(g[i]) + 1e-8);
                    Assert.True(Math.Abs(w1[i] - expected) <= 1e-12 * (1 + Math.Abs(expected)), $"{name}[{i}]: {w1[i]:R} vs {expected:R} (w0 {w0[i]:R}, g {g[i]:R})");
                }
                if (g.Any(x => x != 0)) moved++;
            }
            Assert.True(moved >= after.Count - 2, $"only {moved} of {after.Count} parameters have a gradient");
        }
        finally { Directory.Delete(dir, true); }
    }

    [TorchFact]
    public void Outputs_CsvEqualsNpy_CheckpointKeepsTheLoadedNames_AndBadInputFails()
    {
        string dir = TrainReference.TemporaryFolder();
        try
        {
            var (checkpoint, data, _) = Setup(dir, "gpt2", 9);
            string output = Path.Combine(dir, "t");
            string printed = TrainReference.Run("train", checkpoint, "--data", data, "--batch", "4", "--seq", "5", "--steps", "3", "--lr", "0.01",
                "--optimizer", "adamw", "--clip", "0.5", "--data-parallel", "2", "--out", output);
            double[] losses = Npy.Read(Path.Combine(output, "losses.npy")).Data;
            Assert.Equal(3, losses.Length);
            Assert.Equal(losses, LossLog.ReadCsv(Path.Combine(output, "losses.csv")));
            Assert.Equal(losses, printed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => double.Parse(l.Split(' ')[3], CultureInfo.InvariantCulture)));

            var loaded = TrainReference.ReadFolder(TorchReference.Dump(checkpoint, Path.Combine(dir, "w0")));
            var saved = TrainReference.ReadFolder(TorchReference.Dump(Path.Combine(output, "checkpoint"), Path.Combine(dir, "w3")));
            Assert.Equal(loaded.Keys.OrderBy(k => k), saved.Keys.OrderBy(k => k));
            Assert.NotEqual(loaded["transformer.wte.weight"], saved["transformer.wte.weight"]);

            Assert.Contains("not divisible by --data-parallel 3", TrainReference.Try("train", checkpoint, "--data", data, "--batch", "4", "--seq", "5", "--steps", "1", "--lr", "0.1", "--data-parallel", "3", "--out", output).Error);
            Assert.Contains("must be positive and finite", TrainReference.Try("train", checkpoint, "--data", data, "--batch", "4", "--seq", "5", "--steps", "1", "--lr", "0", "--out", output).Error);
            string bad = Path.Combine(dir, "bad.npy");
            NpyFile.WriteInt32(bad, [1, 2, 3, 500, 4, 5, 6, 7, 8]);
            Assert.Contains("token id 500 at position 3", TrainReference.Try("grads", checkpoint, "--data", bad, "--batch", "1", "--seq", "4", "--out", output).Error);
        }
        finally { Directory.Delete(dir, true); }
    }

    // A small random checkpoint (vocabulary and FFN sizes that divide no P) and random token data written by NpyFile.
    private static (string Checkpoint, string Data, int Vocab) Setup(string dir, string family, int seed)
    {
        const int vocab = 103;
        string checkpoint = TorchReference.Make(Path.Combine(dir, "ckpt"), "--model-type", family, "--vocab", $"{vocab}", "--hidden", "24",
            "--heads", "4", "--kv-heads", family == "gpt2" ? "4" : "2", "--ffn", "37", "--layers", "2", "--positions", "32", "--seed", $"{seed}");
        var random = new Random(seed);
        string data = Path.Combine(dir, "tokens.npy");
        NpyFile.WriteInt32(data, Enumerable.Range(0, 200 + random.Next(100)).Select(_ => random.Next(vocab)).ToArray());
        return (checkpoint, data, vocab);
    }
}
