using System;
using System.Diagnostics;
using System.Linq;
using ShardGen.Benchmarks.Models;
using ShardGen.Checkpoints;
using ShardGen.Generation;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `decode-bf16` (issue 13's stretch): the `decode` suite's model written as a BF16 checkpoint (0.98 GB) and loaded
/// with <c>keepBFloat16: true</c> (matrices kept in BF16, viewed in the file's mapping; GEMMs widen them exactly), against
/// the same model's F32 checkpoint in place, in one run: decode ms/token on 1 device × 1 thread against the read limit of
/// the bytes each holds, the speed-up, 2 devices, prefill and load. Greedy ids of the kept load and the widened one
/// (keepBFloat16: false, the same BF16 values in float32) must agree.
/// </summary>
internal static class DecodeBFloat16Suite
{
    public static void Run(Options o)
    {
        int newTokens = o.Quick ? 9 : 33;
        string f32 = DecodeSuite.CachedCheckpoint(SafetensorsDType.F32), bf16 = DecodeSuite.CachedCheckpoint(SafetensorsDType.BF16);
        var prompt = DecodeSuite.RandomPrompt();
        long bytes32 = DecodeSuite.StreamedWeightBytes(4), bytes16 = DecodeSuite.StreamedWeightBytes(2);
        double readFile = Enumerable.Range(0, 3).Select(_ => DecodeSuite.ReadFilesOnce(bf16)).Min();
        double bw1 = ReadBandwidth.BytesPerSecond(1), bw2 = ReadBandwidth.BytesPerSecond(2);

        var kept = Measure(bf16, keep: true, devices: 1, prompt, newTokens, o);
        var widened = Measure(bf16, keep: false, devices: 1, prompt, newTokens, o);
        var full = Measure(f32, keep: false, devices: 1, prompt, newTokens, o);
        var keptTwo = Measure(bf16, keep: true, devices: 2, prompt, newTokens, o);

        double limit16 = bytes16 / bw1 * 1e3, limit32 = bytes32 / bw1 * 1e3, limit16Two = bytes16 / bw2 * 1e3;
        var table = new Table($"decode-bf16: the decode suite's model ({DecodeSuite.Parameters() / 1e6:F0} M parameters) from a BF16 checkpoint kept in BF16, " +
                              $"prompt {prompt.Length} tokens, greedy", "measure", "figure", "reference", "ratio", "target");
        table.Add("decode BF16 kept, 1 device × 1 thread (ms/token)", kept.Decode, $"read limit {limit16:F1} ms ({bytes16 / 1e9:F2} GB at {bw1 / 1e9:F1} GB/s)", limit16 / kept.Decode, "≥ 0.80 of the limit");
        table.Add("  against the F32 checkpoint in place", kept.Decode, $"F32: {full.Decode:F1} ms (limit {limit32:F1} ms)", full.Decode / kept.Decode, "≈ 2× (half the bytes)");
        table.Add("  against BF16 widened to float32 at load", kept.Decode, $"widened: {widened.Decode:F1} ms", widened.Decode / kept.Decode, "report");
        table.Add("decode BF16 kept, 2 devices × 1 thread (ms/token)", keptTwo.Decode, $"1 device: {kept.Decode:F1} ms; 2-thread limit {limit16Two:F1} ms", kept.Decode / keptTwo.Decode, "report");
        table.Add("prefill, BF16 kept (ms)", kept.Prefill * 1e3, $"F32 in place: {full.Prefill * 1e3:F0} ms", full.Prefill / kept.Prefill, "report");
        table.Add("load BF16 kept, page cache warm (s)", kept.Load, $"reading the file once: {readFile:F2} s; widened load {widened.Load:F2} s", kept.Load / readFile, "≤ 1.5×");
        bool same = kept.Ids.SequenceEqual(widened.Ids) && kept.Ids.SequenceEqual(keptTwo.Ids);
        table.Notes.Add($"Greedy ids: BF16 kept (1 and 2 devices) and BF16 widened {(same ? "agree" : "DIFFER")} on all {newTokens} new tokens " +
                        $"(the F32 checkpoint holds the same random weights before rounding to BF16: its ids {(kept.Ids.SequenceEqual(full.Ids) ? "agree too" : "differ")}).");
        table.Notes.Add("Limits: the bytes a decode step reads (every matrix but the embedding table, at 2 bytes in BF16, 4 in F32; norms at 4) over the read " +
                        "bandwidth measured in this run. Decode as in the decode suite (mean ms per step, best of 2 generations after a warm-up); prefill best of 2 " +
                        "after a warm-up; load the faster of 2.");
        table.Print();
    }

    private readonly record struct Outcome(double Load, double Prefill, double Decode, int[] Ids);

    private static Outcome Measure(string directory, bool keep, int devices, int[] prompt, int newTokens, Options o)
    {
        using var mesh = DeviceMesh.CreateCpu(devices, threadsPerDevice: 1);
        double load = double.MaxValue, prefill = double.MaxValue;
        Llama? model = null;
        for (int i = 0; i < 2; i++)
        {
            model?.Dispose();
            var clock = Stopwatch.StartNew();
            model = Llama.Load(mesh, directory, keepBFloat16: keep);
            load = Math.Min(load, clock.Elapsed.TotalSeconds);
        }
        using (model)
        {
            for (int i = 0; i < 3; i++)
            {
                using var cache = model!.CreateCache(prompt.Length);
                var clock = Stopwatch.StartNew();
                model.Forward(prompt, null, cache);
                if (i > 0) prefill = Math.Min(prefill, clock.Elapsed.TotalSeconds);
            }
            var r = DecodeSuite.Decode(model!, prompt, newTokens, o);
            return new Outcome(load, prefill, r.DecodeMillisecondsPerToken, r.NewIds.ToArray());
        }
    }
}
