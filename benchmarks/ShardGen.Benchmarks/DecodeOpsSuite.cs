using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `decode-ops`: the per-token kernels of a decode step outside the GEMMs, on the decode suite's LLaMA shapes
/// (hidden 2048, 16 query heads over 4 kv heads of 128, FFN 5632), one thread: cached attention over 150 positions,
/// SiLU-gated activation, RmsNorm, the greedy argmax over 32000 logits. Each call is timed alone, hot (inputs in cache) and cold (after streaming 64 MB,
/// as the weights of a decode step evict everything).
/// </summary>
internal static unsafe class DecodeOpsSuite
{
    public static void Run(Options o)
    {
        int reps = o.Quick ? 200 : 1000;
        const int heads = 16, kvHeads = 4, d = 128, cached = 150, capacity = 512, ffn = 5632, hidden = 2048;
        var shape = new AttentionShape(heads, kvHeads, d, true, [0, 1]);
        int fused = shape.FusedWidth, kvWidth = kvHeads * d;
        float* qkv = Alloc(fused), output = Alloc(heads * d), keys = Alloc(capacity * kvWidth), values = Alloc(capacity * kvWidth);
        float* gateUp = Alloc(2 * ffn), gated = Alloc(ffn), x = Alloc(hidden), y = Alloc(hidden), gamma = Alloc(hidden);
        var rng = new Random(1);
        Fill(rng, qkv, fused); Fill(rng, keys, capacity * kvWidth); Fill(rng, values, capacity * kvWidth);
        Fill(rng, gateUp, 2 * ffn); Fill(rng, x, hidden); Fill(rng, gamma, hidden);
        var ws = new[] { new GemmWorkspace() };
        long flushFloats = 16L << 20;
        float* flush = Alloc(flushFloats);
        for (long i = 0; i < flushFloats; i++) flush[i] = i;

        var attention = () => CachedAttentionKernel.Run(new CachedAttentionKernel.Problem(qkv, fused, output, heads * d, keys, kvWidth, values, kvWidth, shape, 1, cached), ws, null);
        int grow = 100;
        var growing = () => CachedAttentionKernel.Run(new CachedAttentionKernel.Problem(qkv, fused, output, heads * d, keys, kvWidth, values, kvWidth, shape, 1, grow = grow >= 400 ? 100 : grow + 1), ws, null);
        var peakedQkv = Alloc(fused);
        for (int i = 0; i < fused; i++) peakedQkv[i] = qkv[i] * 30;
        var peaked = () => CachedAttentionKernel.Run(new CachedAttentionKernel.Problem(peakedQkv, fused, output, heads * d, keys, kvWidth, values, kvWidth, shape, 1, cached), ws, null);
        const int prompt = 128;
        var promptShape = new AttentionShape(heads, kvHeads, d, true, [0, prompt]);
        var plan = new AttentionPlan(promptShape);
        float* promptQkv = Alloc(prompt * fused), promptOutput = Alloc(prompt * heads * d);
        Fill(rng, promptQkv, prompt * fused);
        var prefill = () => AttentionKernel.Run(promptQkv, fused, promptOutput, heads * d, plan, ws, null);
        var gate = () => Activations.GatedRow(gateUp, gateUp + ffn, gated, ffn, Activation.Silu);
        var norm = () => Normalization.RmsNormRow(x, y, hidden, gamma, 1e-5f);
        var logits = new float[32000];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)rng.NextDouble();
        int picked = 0;
        var argmax = () => picked += ShardGen.Generation.Sampler.Argmax(logits);
        var scan = () => picked += ScanArgmax(logits);
        var table = new Table($"decode-ops: one decode step's non-GEMM kernels, 1 thread, {reps} calls each (µs per call)", "kernel", "hot", "cold (after 64 MB streamed)");
        var contenders = new (string, Action)[] { ("cached attention, 16/4 heads × 128, 150 positions", attention),
                     ("  growing 100..400 positions", growing), ("  peaked scores (q × 30)", peaked), ("prefill attention, 128 tokens", prefill), ("gated SiLU, 5632", gate), ("RmsNorm, 2048", norm),
                     ("greedy argmax, 32000 logits", () => argmax()), ("  the scalar scan it replaced", () => scan()) };
        var actions = Array.ConvertAll(contenders, c => c.Item2);
        double[] hot = Time(actions, reps, null, 0), cold = Time(actions, reps / 4, flush, flushFloats);
        for (int i = 0; i < contenders.Length; i++) table.Add(contenders[i].Item1, hot[i], cold[i]);
        table.Print();
        ws[0].Dispose();
    }

    /// <summary>Median µs per call of each action, the actions taking turns call by call (drift hits all alike).</summary>
    private static double[] Time(Action[] actions, int reps, float* flush, long flushFloats)
    {
        foreach (var a in actions) for (int i = 0; i < 20; i++) a();
        var samples = new double[actions.Length][];
        for (int a = 0; a < actions.Length; a++) samples[a] = new double[reps];
        float sink = 0;
        for (int r = 0; r < reps; r++)
            for (int a = 0; a < actions.Length; a++)
            {
                if (flush != null) for (long i = 0; i < flushFloats; i += 16) sink += flush[i];
                long t0 = Stopwatch.GetTimestamp();
                actions[a]();
                samples[a][r] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
            }
        if (sink == -1) Console.Write("");
        return Array.ConvertAll(samples, Measure.Median);
    }

    private static int ScanArgmax(float[] logits)
    {
        int best = -1;
        for (int i = 0; i < logits.Length; i++)
            if (!float.IsNaN(logits[i]) && (best < 0 || logits[i] > logits[best])) best = i;
        return best;
    }

    private static float* Alloc(long floats) => (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);

    private static void Fill(Random rng, float* p, long n)
    {
        for (long i = 0; i < n; i++) p[i] = (float)(rng.NextDouble() * 2 - 1);
    }
}
