using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using ShardGen.Benchmarks.Models;
using ShardGen.Checkpoints;
using ShardGen.Devices;
using ShardGen.Generation;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `decode`: issue 13's LLaMA-shaped model (vocab 32000, hidden 2048, 16 heads, 4 KV heads, FFN 5632, 8 layers,
/// 492 M parameters, 1.97 GB float32) from a random checkpoint written once to a cache folder. In one run: decode
/// ms/token on 1 device × 1 thread against the memory-read limit (bytes a step streams / one-thread read bandwidth),
/// 2 devices × 1 thread, PyTorch eager with a KV cache (benchmarks/torch_decode.py, one thread, same files), prefill
/// of 128 tokens against the same GEMMs run alone, and loading against reading the files once (page cache warm).
/// </summary>
internal static class DecodeSuite
{
    private const int Vocab = 32000, Hidden = 2048, Heads = 16, KvHeads = 4, Ffn = 5632, Layers = 8;
    private const int PromptTokens = 128;

    public static void Run(Options o)
    {
        int newTokens = o.Quick ? 9 : 33; // decode steps = new tokens − 1
        string directory = CachedCheckpoint();
        var prompt = RandomPrompt();
        long streamed = StreamedWeightBytes();

        double readFile = Enumerable.Range(0, 3).Select(_ => ReadFilesOnce(directory)).Min(); // the first warms the page cache
        double bw1 = ReadBandwidth.BytesPerSecond(1), bw2 = ReadBandwidth.BytesPerSecond(2);

        // 1 device × 1 thread: load (twice: the second is timed warm), prefill, decode.
        double load = double.MaxValue, prefill = double.MaxValue;
        GenerationResult one;
        using (var mesh = DeviceMesh.CreateCpu(1, threadsPerDevice: 1))
        {
            Llama? model = null;
            for (int i = 0; i < 2; i++)
            {
                model?.Dispose();
                var clock = Stopwatch.StartNew();
                model = Llama.Load(mesh, directory);
                load = Math.Min(load, clock.Elapsed.TotalSeconds);
            }
            using (model)
            {
                for (int i = 0; i < (o.Quick ? 2 : 4); i++)
                {
                    using var cache = model!.CreateCache(PromptTokens);
                    var clock = Stopwatch.StartNew();
                    model.Forward(prompt, null, cache);
                    if (i > 0) prefill = Math.Min(prefill, clock.Elapsed.TotalSeconds); // the first is the warm-up
                }
                one = Decode(model!, prompt, newTokens, o);
            }
        }
        double gemm = GemmSeconds(o);

        GenerationResult two;
        using (var mesh = DeviceMesh.CreateCpu(2, threadsPerDevice: 1))
        using (var model = Llama.Load(mesh, directory))
            two = Decode(model, prompt, newTokens, o);

        var torch = TorchDecode(directory, prompt, newTokens);

        double limit1 = streamed / bw1 * 1e3, limit2 = streamed / bw2 * 1e3;
        double ms1 = one.DecodeMillisecondsPerToken, ms2 = two.DecodeMillisecondsPerToken;
        double flops = PrefillFlops();
        var table = new Table($"decode: LLaMA-shaped model (vocab {Vocab}, hidden {Hidden}, {Heads} heads, {KvHeads} KV heads, FFN {Ffn}, {Layers} layers; " +
                              $"{Parameters() / 1e6:F0} M parameters, {Parameters() * 4 / 1e9:F2} GB float32), prompt {PromptTokens} tokens, greedy",
            "measure", "figure", "reference", "ratio", "target");
        table.Add("decode, 1 device × 1 thread (ms/token)", ms1, $"memory-read limit {limit1:F1} ms ({streamed / 1e9:F2} GB at {bw1 / 1e9:F1} GB/s)", limit1 / ms1, "≥ 0.80 of the limit");
        table.Add("decode, 2 devices × 1 thread (ms/token)", ms2, $"1 device: {ms1:F1} ms", ms1 / ms2, "≥ 1.8×");
        table.Add("  2 devices against their limit", ms2, $"{limit2:F1} ms at {bw2 / 1e9:F1} GB/s (2 threads)", limit2 / ms2, "report");
        if (torch is { } t)
            table.Add("PyTorch eager + KV cache, 1 thread (ms/token)", t.MsPerToken, $"ShardGen 1 device: {ms1:F1} ms", t.MsPerToken / ms1, "≥ 2× its tokens/s");
        else
            table.Add("PyTorch eager + KV cache, 1 thread", "not run", "/usr/bin/python3 with torch is missing", double.NaN, "≥ 2×");
        table.Add($"prefill {PromptTokens} tokens, 1 device × 1 thread (GFLOP/s)", flops / prefill / 1e9, $"the same GEMMs alone: {flops / gemm / 1e9:F1} GFLOP/s", gemm / prefill, "≥ 0.85");
        table.Add("load, 1 device, page cache warm (s)", load, $"reading the files once: {readFile:F2} s", load / readFile, "≤ 1.5×");
        table.Notes.Add($"Decode: mean of the {newTokens - 1} decode steps after a {PromptTokens}-token prefill, best of {(o.Quick ? 1 : 2)} generations after a warm-up; " +
                        "each step runs one token through every layer and the LM head and draws greedily. The limit is the bytes a step must read " +
                        $"(every weight but the embedding table, which is gathered a row at a time: {streamed / 1e9:F3} GB) over the read bandwidth " +
                        "measured in this run (1 GiB summed with 512-bit loads, best of 5).");
        bool sameIds = one.NewIds.SequenceEqual(two.NewIds) && (torch is null || torch.Value.Ids.SequenceEqual(one.NewIds));
        table.Notes.Add($"Greedy ids: 1 device, 2 devices{(torch is null ? "" : " and PyTorch")} {(sameIds ? "agree" : "DIFFER")} on all {newTokens} new tokens." +
                        (torch is { } tt ? $" PyTorch {tt.Version}: prefill {tt.PrefillMs:F0} ms, load {tt.LoadSeconds:F1} s." : ""));
        table.Notes.Add($"Prefill: one Forward of {PromptTokens} tokens with a fresh cache (best of {(o.Quick ? 1 : 3)} after a warm-up), {flops / 1e9:F1} GFLOP " +
                        "(2·tokens·weights streamed + causal attention); the reference runs each of the model's GEMMs alone on the same device API " +
                        $"(q, k, v, o, gate, up, down per layer and the head; {PromptTokens} rows, random operands as in the GEMM suite), same thread count.");
        table.Notes.Add($"Load: Llama.Load on 1 CPU device (checks, then every tensor read from the mapped files and uploaded), the faster of 2; " +
                        "reading the files once = FileStream reads of 1 MiB, best of 3 (the first warms the page cache). " +
                        $"Checkpoint: {directory} (RandomCheckpoint, written once).");
        table.Print();
    }

    internal static GenerationResult Decode(Llama model, int[] prompt, int newTokens, Options o)
    {
        TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 3 }); // warm-up
        GenerationResult? best = null;
        for (int i = 0; i < (o.Quick ? 1 : 2); i++)
        {
            var r = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = newTokens });
            if (best is null || r.DecodeMillisecondsPerToken < best.DecodeMillisecondsPerToken) best = r;
        }
        return best!;
    }

    /// <summary>The checkpoint, written by RandomCheckpoint on first use to $SHARDGEN_BENCH_CACHE or ~/.cache/shardgen.</summary>
    internal static string CachedCheckpoint(SafetensorsDType dtype = SafetensorsDType.F32)
    {
        string root = Environment.GetEnvironmentVariable("SHARDGEN_BENCH_CACHE") is { Length: > 0 } c ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "shardgen");
        int size = dtype == SafetensorsDType.F32 ? 4 : 2;
        string directory = Path.Combine(root, $"llama-492m-{dtype.ToString().ToLowerInvariant()}");
        string file = Path.Combine(directory, Checkpoint.SingleFile);
        if (File.Exists(file) && File.Exists(Path.Combine(directory, Checkpoint.ConfigFile)) && new FileInfo(file).Length > Parameters() * size) return directory;
        Console.WriteLine($"decode: writing the {Parameters() * size / 1e9:F2} GB random checkpoint to {directory} (once)...");
        var clock = Stopwatch.StartNew();
        RandomCheckpoint.Write(directory, new RandomCheckpointSpec(ModelFamily.Llama, Vocab, Hidden, Heads, KvHeads, Ffn, Layers) { Positions = 4096, Seed = 13, DType = dtype });
        Console.WriteLine($"decode: written in {clock.Elapsed.TotalSeconds:F0} s");
        return directory;
    }

    internal static int[] RandomPrompt()
    {
        var random = new Random(128);
        return Enumerable.Range(0, PromptTokens).Select(_ => random.Next(Vocab)).ToArray();
    }

    private static long LayerWeights() =>
        (long)Hidden * (Heads + 2 * KvHeads) * (Hidden / Heads) + (long)Heads * (Hidden / Heads) * Hidden + 3L * Hidden * Ffn + 2L * Hidden;

    internal static long Parameters() => 2L * Vocab * Hidden + Layers * LayerWeights() + Hidden;

    /// <summary>Bytes one decode step reads: every weight except the embedding table (matrices at <paramref name="size"/> bytes, norms at 4).</summary>
    internal static long StreamedWeightBytes(int size = 4) =>
        size * (Layers * (LayerWeights() - 2L * Hidden) + (long)Vocab * Hidden) + 4 * (Layers * 2L * Hidden + Hidden);

    private static double PrefillFlops()
    {
        double gemm = 2.0 * PromptTokens * (Layers * (LayerWeights() - 2L * Hidden) + (double)Vocab * Hidden);
        double attention = Layers * 2.0 * 2 * Heads * (Hidden / Heads) * PromptTokens * (PromptTokens + 1) / 2.0; // QKᵀ and PV, causal
        return gemm + attention;
    }

    /// <summary>Seconds of the prefill's GEMMs run alone through the device API (1 device × 1 thread).</summary>
    private static double GemmSeconds(Options o)
    {
        int d = Hidden / Heads;
        var shapes = new (int N, int K, int Count)[]
        {
            (Heads * d, Hidden, Layers), (KvHeads * d, Hidden, 2 * Layers), (Hidden, Heads * d, Layers),
            (Ffn, Hidden, 2 * Layers), (Hidden, Ffn, Layers), (Vocab, Hidden, 1),
        };
        using var mesh = DeviceMesh.CreateCpu(1, threadsPerDevice: 1);
        var device = mesh.Devices[0];
        double total = 0;
        foreach (var (n, k, count) in shapes)
        {
            using var a = device.Allocate(PromptTokens * k);
            using var b = device.Allocate(k * n);
            using var c = device.Allocate(PromptTokens * n);
            MatrixView va = a.AsMatrix(PromptTokens, k), vb = b.AsMatrix(k, n), vc = c.AsMatrix(PromptTokens, n);
            // Random operands in [-1, 1) as the GEMM suite has them: on all-zero buffers the same GEMMs ran 1.3× faster
            // (483.8 against 633.9 ms for the prefill's set, measured side by side), a speed no model's weights have.
            var random = new Random(n * 7 + k);
            device.Upload(Operands.Random(PromptTokens * k, random), k, va);
            device.Upload(Operands.Random(k * n, random), n, vb);
            double seconds = Measure.SideBySide(o.Repetitions, o.MinSeconds, () =>
            {
                device.Gemm(va, false, vb, false, vc, accumulate: false);
                device.Synchronize();
            })[0];
            total += seconds * count;
        }
        return total;
    }


    internal static double ReadFilesOnce(string directory)
    {
        var buffer = new byte[1 << 20];
        var clock = Stopwatch.StartNew();
        foreach (string file in Directory.GetFiles(directory, "*.safetensors"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            while (stream.Read(buffer) > 0) { }
        }
        return clock.Elapsed.TotalSeconds;
    }

    private readonly record struct TorchRun(double MsPerToken, double PrefillMs, double LoadSeconds, int[] Ids, string Version);

    /// <summary>benchmarks/torch_decode.py on the same checkpoint and prompt; null where /usr/bin/python3 or torch is missing.</summary>
    private static TorchRun? TorchDecode(string directory, int[] prompt, int newTokens)
    {
        using var json = TorchScript.Run("decode", "torch_decode.py",
            new[] { directory, "--ids", string.Join(',', prompt), "--new", newTokens.ToString(CultureInfo.InvariantCulture), "--threads", "1" });
        if (json is null) return null;
        var r = json.RootElement;
        return new TorchRun(r.GetProperty("decode_ms_per_token").GetDouble(), r.GetProperty("prefill_ms").GetDouble(), r.GetProperty("load_s").GetDouble(),
            r.GetProperty("new_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(), r.GetProperty("torch").GetString() ?? "");
    }
}
