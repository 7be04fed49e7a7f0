using System;
using System.Diagnostics;
using ShardGen.Benchmarks.Models;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `layout`: the `decode` suite's checkpoint on 1 device × 1 thread, loaded in place (the file's [out, in]
/// tensors viewed in a private mapping: transposed-B GEMVs and GEMMs, q/k/v and gate/up as separate parts) and copied
/// (<c>copyWeights: true</c>: [in, out] buffers, q|k|v and gate|up fused), measured alternately in one process so the
/// machine's load weighs on both alike: load seconds, prefill of 128 tokens, decode ms/token.
/// </summary>
internal static class LayoutSuite
{
    public static void Run(Options o)
    {
        string directory = DecodeSuite.CachedCheckpoint();
        var prompt = DecodeSuite.RandomPrompt();
        int newTokens = o.Quick ? 9 : 33, rounds = o.Quick ? 1 : 3;
        var best = new (double Load, double Prefill, double Decode)[3];
        for (int m = 0; m < 3; m++) best[m] = (double.MaxValue, double.MaxValue, double.MaxValue);
        using var mesh = DeviceMesh.CreateCpu(1, threadsPerDevice: 1);
        for (int round = 0; round < rounds; round++)
            for (int m = 0; m < 3; m++)
            {
                // 0: in place; 1: copied; 2: in place with the rows of B read from their unaligned starts (no peel).
                SkinnyGemm.NoPeel = m == 2;
                var clock = Stopwatch.StartNew();
                using var model = Llama.Load(mesh, directory, copyWeights: m == 1);
                double load = clock.Elapsed.TotalSeconds;
                double prefill = double.MaxValue;
                for (int i = 0; i < 3; i++)
                {
                    using var cache = model.CreateCache(prompt.Length);
                    clock.Restart();
                    model.Forward(prompt, null, cache);
                    if (i > 0) prefill = Math.Min(prefill, clock.Elapsed.TotalSeconds);
                }
                double decode = DecodeSuite.Decode(model, prompt, newTokens, o).DecodeMillisecondsPerToken;
                best[m] = (Math.Min(best[m].Load, load), Math.Min(best[m].Prefill, prefill), Math.Min(best[m].Decode, decode));
            }
        var table = new Table("layout: the decode suite's LLaMA-shaped checkpoint on 1 device × 1 thread, loaded in place and copied, alternately",
            "weights", "load s", "prefill 128 tokens ms", "decode ms/token");
        table.Add("in place ([out, in], mapped)", best[0].Load, best[0].Prefill * 1e3, best[0].Decode);
        table.Add("copied ([in, out], fused)", best[1].Load, best[1].Prefill * 1e3, best[1].Decode);
        table.Add("in place, rows read unaligned (no peel)", best[2].Load, best[2].Prefill * 1e3, best[2].Decode);
        table.Add("in place / copied", best[0].Load / best[1].Load, best[0].Prefill / best[1].Prefill, best[0].Decode / best[1].Decode);
        table.Add("no peel / copied", best[2].Load / best[1].Load, best[2].Prefill / best[1].Prefill, best[2].Decode / best[1].Decode);
        table.Notes.Add($"Best of {rounds} rounds, each loading the in-place model then the copied one and timing its load, a prefill (best of 2 after a warm-up) " +
                        "and a greedy generation (DecodeSuite.Decode: mean ms per decode step, best of 2 after a warm-up).");
        table.Notes.Add("Safetensors data offsets are 8-byte aligned (this file's tensors all start 24 bytes past a 64-byte line): " +
                        "the transposed-B kernel reads each row from the line before it, the lanes outside masked, so its 512-bit loads fall on line boundaries (SkinnyGemm.Dots.cs); " +
                        "the no-peel row is the same in-place model with SkinnyGemm.NoPeel set.");
        SkinnyGemm.NoPeel = false;
        table.Print();
    }
}
