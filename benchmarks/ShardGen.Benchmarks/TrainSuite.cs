using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using ShardGen.Benchmarks.Models;
using ShardGen.Checkpoints;
using ShardGen.Training;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `train`: issue 14's LLaMA-shaped model (vocab 8000, hidden 512, 4 layers, 8 heads, 4 KV heads, FFN 1408) from a
/// random checkpoint written once to a cache folder, batch 4 × 128 tokens, AdamW. In one run, on the same checkpoint and
/// token batches: PyTorch eager on one thread (benchmarks/torch_train.py), ShardGen on 1 device × 1 thread and on
/// 2 devices × 1 thread (Megatron tensor parallel); median ms/step after warm-up steps, the losses of every step side by
/// side, and device 0's bytes.
/// </summary>
internal static class TrainSuite
{
    private const int Vocab = 8000, Hidden = 512, Heads = 8, KvHeads = 4, Ffn = 1408, Layers = 4;
    private const int Batch = 4, Seq = 128, Warmup = 2;
    private const float LearningRate = 1e-3f;

    public static void Run(Options o)
    {
        int steps = Warmup + (o.Quick ? 3 : 6);
        string directory = CachedCheckpoint();
        var tokens = Tokens(steps);
        string tokenFile = Path.Combine(directory, $"train-tokens-{steps}.npy");
        WriteNpy(tokenFile, tokens);

        if (Environment.GetEnvironmentVariable("SHARDGEN_TRAIN_PROFILE") == "1") ProfileGemms(o);
        var torch = TorchTrain(directory, tokenFile, steps);
        var one = Train(1, directory, tokens, steps);
        var two = Train(2, directory, tokens, steps);
        var kernelsOne = TrainKernels(1, directory, tokens, steps);
        var kernelsTwo = TrainKernels(2, directory, tokens, steps);

        var table = new Table($"train: LLaMA-shaped model (vocab {Vocab}, hidden {Hidden}, {Layers} layers, {Heads} heads, {KvHeads} KV heads, FFN {Ffn}; " +
                              $"{Parameters() / 1e6:F1} M parameters), batch {Batch} × {Seq} tokens, AdamW, float32",
            "measure", "figure", "reference", "ratio", "target");
        if (torch is { } t)
            table.Add("1 device × 1 thread (ms/step)", one.Ms, $"PyTorch {t.Version} eager, 1 thread: {t.Ms:F0} ms", one.Ms / t.Ms, "≤ 0.80× PyTorch");
        else
            table.Add("1 device × 1 thread (ms/step)", one.Ms, "PyTorch not run (/usr/bin/python3 with torch is missing)", double.NaN, "≤ 0.80× PyTorch");
        table.Add("2 devices × 1 thread (ms/step)", two.Ms, $"1 device: {one.Ms:F0} ms", one.Ms / two.Ms, "≥ 1.7× (speed-up)");
        table.Add("  the step's kernels alone, 1 device (ms/step)", kernelsOne.Ms, $"generated model: {one.Ms:F0} ms", one.Ms / kernelsOne.Ms, "report");
        table.Add("  the step's kernels alone, 2 devices (ms/step)", kernelsTwo.Ms, $"1 device: {kernelsOne.Ms:F0} ms", kernelsOne.Ms / kernelsTwo.Ms, "report");
        foreach (var (name, r) in new[] { ("1 device", one), ("2 devices", two) })
        {
            table.Add($"device 0 memory, {name}: persistent (bytes)", r.Persistent, $"plan: {r.Plan.Persistent:N0} (measured − plan: {r.Persistent - r.Plan.Persistent} B)", (double)r.Persistent / r.Plan.Persistent, "= plan");
            table.Add($"device 0 memory, {name}: activations (bytes)", r.Activations, $"plan: {r.Plan.Activations:N0} (measured − plan: {r.Activations - r.Plan.Activations} B)", (double)r.Activations / r.Plan.Activations, "= plan");
        }
        double worst = 0;
        for (int s = 0; s < steps; s++)
            foreach (double other in new[] { two.Losses[s], kernelsOne.Losses[s], kernelsTwo.Losses[s] }.Concat(torch is { } tt ? [tt.Losses[s]] : []))
                worst = Math.Max(worst, Math.Abs(one.Losses[s] - other) / Math.Abs(other));
        table.Notes.Add($"Losses per step (1 device / 2 devices{(torch is null ? "" : " / PyTorch")}): " +
                        string.Join("; ", Enumerable.Range(0, steps).Select(s => $"{one.Losses[s]:F6} / {two.Losses[s]:F6}" +
                                                                               (torch is { } x ? $" / {x.Losses[s]:F6}" : ""))) +
                        $"; largest relative difference among all five runs {worst:E1} (float32 on every side).");
        table.Notes.Add($"Median of the {steps - Warmup} steps after {Warmup} warm-up steps, each step timed whole and waited for: ZeroGradients, the generated " +
                        "ForwardBackward (forward keeping activations, vocab-parallel cross-entropy, backward), AdamW.Step on every parameter. " +
                        "Kernels alone: the same kernels and collectives driven straight through the device API (KernelTrainStep), no runtime around them. " +
                        "PyTorch: benchmarks/torch_train.py, the same checkpoint and batches, torch.set_num_threads(1).");
        table.Notes.Add("Memory: after the steps, device 0's Device.AllocatedBytes (weights, gradients, AdamW's m and v) and Device.PooledBytes (the " +
                        $"training pass's activations, parked in the model's pool) against ModelPlan.TrainingMemory({Batch * Seq}, adamW, rank 0). " +
                        $"1 device plan: {one.Plan}. Checkpoint: {directory}");
        table.Print();
    }

    private readonly record struct Result(double Ms, double[] Losses, long Persistent, long Activations, TrainingMemory Plan);

    /// <summary>The generated Llama's training steps (ZeroGradients, ForwardBackward, AdamW) on <paramref name="devices"/> × 1 thread.</summary>
    private static Result Train(int devices, string directory, int[][] tokens, int steps)
    {
        using var mesh = DeviceMesh.CreateCpu(devices, threadsPerDevice: 1);
        using var model = Llama.Load(mesh, directory);
        using var adam = new AdamW(LearningRate);
        var lengths = Enumerable.Repeat(Seq, Batch).ToArray();
        var ms = new double[steps];
        var losses = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            var (inputs, targets) = Batches(tokens, s);
            var clock = Stopwatch.StartNew();
            model.Training.ZeroGradients();
            losses[s] = model.ForwardBackward(inputs, targets, lengths) / (Batch * Seq);
            adam.Step(model.Training);
            foreach (var d in mesh.Devices) d.Synchronize();
            ms[s] = clock.Elapsed.TotalMilliseconds;
        }
        Console.WriteLine($"train: generated model, {devices} device(s): ms per step {string.Join(' ', ms.Select(m => m.ToString("F0", CultureInfo.InvariantCulture)))}");
        var device = mesh.Devices[0];
        return new Result(Measure.Median(ms.Skip(Warmup)), losses, device.AllocatedBytes, device.PooledBytes, model.Plan.TrainingMemory(Batch * Seq, adam, 0));
    }

    /// <summary>The same step on the device API alone (KernelTrainStep).</summary>
    private static Result TrainKernels(int devices, string directory, int[][] tokens, int steps)
    {
        using var mesh = DeviceMesh.CreateCpu(devices, threadsPerDevice: 1);
        using var step = new KernelTrainStep(mesh, directory, Batch, Seq);
        var ms = new double[steps];
        var losses = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            var (inputs, targets) = Batches(tokens, s);
            var clock = Stopwatch.StartNew();
            losses[s] = step.Step(inputs, targets, LearningRate);
            ms[s] = clock.Elapsed.TotalMilliseconds;
        }
        if (Environment.GetEnvironmentVariable("SHARDGEN_TRAIN_PROFILE") == "1")
        {
            step.Profile = new();
            var (inputs, targets) = Batches(tokens, 0);
            step.Step(inputs, targets, LearningRate);
            Console.WriteLine($"train: {devices} device(s), one step kernel group by kernel group (ms): " +
                              string.Join(", ", step.Profile.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value * 1e3:F1}")));
        }
        Console.WriteLine($"train: kernels alone, {devices} device(s): ms per step {string.Join(' ', ms.Select(m => m.ToString("F0", CultureInfo.InvariantCulture)))}");
        return new Result(Measure.Median(ms.Skip(Warmup)), losses, step.Device0Bytes, 0, new TrainingMemory(0, 0, 0, 0));
    }

    /// <summary>GFLOP/s of the MLP's forward and backward GEMMs alone, 1 device × 1 thread (where the step's time goes).</summary>
    private static void ProfileGemms(Options o)
    {
        int t = Batch * Seq;
        var shapes = new (string Name, int M, int N, int K, bool TA, bool TB)[]
        {
            ("gate|up x·W", t, 2 * Ffn, Hidden, false, false), ("down x·W", t, Hidden, Ffn, false, false),
            ("down dY·Wᵀ", t, Ffn, Hidden, false, true), ("down Xᵀ·dY", Ffn, Hidden, t, true, false),
            ("gate|up dY·Wᵀ", t, Hidden, 2 * Ffn, false, true), ("gate|up Xᵀ·dY", Hidden, 2 * Ffn, t, true, false),
            ("head x·Wᵀ", t, Vocab, Hidden, false, true), ("head dY·W", t, Hidden, Vocab, false, false), ("head dYᵀ·X", Vocab, Hidden, t, true, false),
        };
        using var mesh = DeviceMesh.CreateCpu(1, threadsPerDevice: 1);
        var device = mesh.Devices[0];
        foreach (var (name, m, n, k, ta, tb) in shapes)
        {
            using var a = device.Allocate(m * k);
            using var b = device.Allocate(k * n);
            using var c = device.Allocate(m * n);
            var va = ta ? a.AsMatrix(k, m) : a.AsMatrix(m, k);
            var vb = tb ? b.AsMatrix(n, k) : b.AsMatrix(k, n);
            var vc = c.AsMatrix(m, n);
            // Random operands (see Operands): zero-filled buffers time faster than any model runs.
            var random = new Random(m * 31 + n * 7 + k);
            device.Upload(Operands.Random(m * k, random), va.Cols, va);
            device.Upload(Operands.Random(k * n, random), vb.Cols, vb);
            double seconds = Measure.SideBySide(o.Repetitions, o.MinSeconds, () =>
            {
                device.Gemm(va, ta, vb, tb, vc, accumulate: ta);
                device.Synchronize();
            })[0];
            Console.WriteLine($"train: GEMM {name} {m}×{n}×{k}: {seconds * 1e3:F2} ms, {2.0 * m * n * k / seconds / 1e9:F0} GFLOP/s");
        }
    }


    /// <summary>Step s's inputs and targets: rows s·B … s·B+B−1 of the [steps·B, L+1] token table.</summary>
    private static (int[] Inputs, int[] Targets) Batches(int[][] tokens, int s)
    {
        var rows = tokens.Skip(s * Batch).Take(Batch).ToArray();
        return (rows.SelectMany(r => r.Take(Seq)).ToArray(), rows.SelectMany(r => r.Skip(1)).ToArray());
    }

    private static int[][] Tokens(int steps)
    {
        var random = new Random(14);
        return Enumerable.Range(0, steps * Batch).Select(_ => Enumerable.Range(0, Seq + 1).Select(_ => random.Next(Vocab)).ToArray()).ToArray();
    }

    /// <summary>A 1-D little-endian int32 .npy of the rows one after another.</summary>
    private static void WriteNpy(string path, int[][] rows)
    {
        var flat = rows.SelectMany(r => r).ToArray();
        string header = $"{{'descr': '<i4', 'fortran_order': False, 'shape': ({flat.Length},), }}";
        header = header.PadRight(((header.Length + 11) / 64 + 1) * 64 - 11) + "\n";
        using var stream = File.Create(path);
        using var w = new BinaryWriter(stream);
        w.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        w.Write((ushort)header.Length);
        w.Write(System.Text.Encoding.ASCII.GetBytes(header));
        foreach (int v in flat) w.Write(v);
    }

    private static long Parameters() =>
        2L * Vocab * Hidden + Hidden + Layers * (2L * Hidden + (long)Hidden * (Heads + 2 * KvHeads) * (Hidden / Heads) + (long)Hidden * Hidden + 3L * Hidden * Ffn);

    private static string CachedCheckpoint()
    {
        string root = Environment.GetEnvironmentVariable("SHARDGEN_BENCH_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "shardgen");
        string directory = Path.Combine(root, "llama-train-8k-f32");
        if (File.Exists(Path.Combine(directory, Checkpoint.SingleFile)) && File.Exists(Path.Combine(directory, Checkpoint.ConfigFile))) return directory;
        RandomCheckpoint.Write(directory, new RandomCheckpointSpec(ModelFamily.Llama, Vocab, Hidden, Heads, KvHeads, Ffn, Layers) { Positions = 512, Seed = 14 });
        return directory;
    }

    private readonly record struct TorchRun(double Ms, double[] Losses, string Version);

    /// <summary>benchmarks/torch_train.py on the same checkpoint and batches; null where /usr/bin/python3 or torch is missing.</summary>
    private static TorchRun? TorchTrain(string directory, string tokenFile, int steps)
    {
        using var json = TorchScript.Run("train", "torch_train.py",
            new[] { directory, "--tokens", tokenFile, "--batch", $"{Batch}", "--seq", $"{Seq}", "--steps", $"{steps}",
                "--warmup", $"{Warmup}", "--lr", LearningRate.ToString("R", CultureInfo.InvariantCulture), "--threads", "1" });
        if (json is null) return null;
        var r = json.RootElement;
        Console.WriteLine($"train: PyTorch ms per step {string.Join(' ', r.GetProperty("ms").EnumerateArray().Select(e => e.GetDouble().ToString("F0", CultureInfo.InvariantCulture)))}");
        return new TorchRun(r.GetProperty("ms_per_step").GetDouble(), r.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            r.GetProperty("torch").GetString() ?? "");
    }
}
