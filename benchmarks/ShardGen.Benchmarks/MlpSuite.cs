using System;
using ShardGen.Benchmarks.Models;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `mlp`: tensor-parallel speedup of the Megatron MLP (hidden 4096, 4× expansion, 512 tokens): 2 CPU devices
/// of one thread against 1 device of one thread, and against 1 device of two threads (the cost of sharding).
/// </summary>
internal static class MlpSuite
{
    public static void Run(Options o)
    {
        const int tokens = 512;
        var weights = Mlp4096.Weights.Random(seed: 1);
        var x = RandomMatrix(new Random(2), tokens, 4096);
        using var mesh11 = DeviceMesh.CreateCpu(1, 1);
        using var mesh21 = DeviceMesh.CreateCpu(2, 1);
        using var mesh12 = DeviceMesh.CreateCpu(1, 2);
        using var m11 = Mlp4096.Create(mesh11, weights);
        using var m21 = Mlp4096.Create(mesh21, weights);
        using var m12 = Mlp4096.Create(mesh12, weights);
        weights = null!;
        GC.Collect();

        float[,] y11 = null!, y21 = null!, y12 = null!;
        var t = Measure.SideBySide(o.Quick ? 3 : 5, 0, () => y11 = m11.Forward(x), () => y21 = m21.Forward(x), () => y12 = m12.Forward(x));
        double flop = 2.0 * 2 * tokens * 4096 * 16384;
        double speedup = t[0] / t[1], cost = t[1] / t[2] - 1;

        var table = new Table("mlp: Megatron MLP 4096 → 16384 → 4096, 512 tokens, forward time (median) and ratios",
            "configuration", "ms", "GFLOP/s", "ratio", "target", "max |diff| vs 1×1");
        table.Add("1 device × 1 thread", t[0] * 1e3, flop / t[0] / 1e9, "1.00", "", "0");
        table.Add("2 devices × 1 thread (tensor-parallel)", t[1] * 1e3, flop / t[1] / 1e9, $"{speedup:F2}× vs 1×1", "≥ 1.85×", MaxDiff(y21, y11).ToString("E1"));
        table.Add("1 device × 2 threads", t[2] * 1e3, flop / t[2] / 1e9, $"sharding costs {100 * cost:F1}%", "≤ 5%", MaxDiff(y12, y11).ToString("E1"));
        table.Notes.Add($"Speedup 2×1 over 1×1: {speedup:F2}×. Sharding cost = t(2 devices × 1 thread) / t(1 device × 2 threads) − 1 = {100 * cost:+0.0;-0.0}%. " +
                        $"Traffic of the 2-device pass: {m21.LastForward}.");
        table.Notes.Add("Transformer block: see the `mlp` section of benchmarks/README.md.");
        table.Print();
    }

    internal static float[,] RandomMatrix(Random rng, int rows, int cols)
    {
        var m = new float[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                m[i, j] = (float)(rng.NextDouble() * 2 - 1);
        return m;
    }

    internal static double MaxDiff(float[,] a, float[,] b)
    {
        double d = 0;
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++)
                d = Math.Max(d, Math.Abs(a[i, j] - b[i, j]));
        return d;
    }
}
