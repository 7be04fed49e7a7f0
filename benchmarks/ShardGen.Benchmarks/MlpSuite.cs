using System;
using ShardGen.Benchmarks.Models;
using ShardGen.Tests.Reference;

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
        var mlp = Mlp4096.Weights.Random(seed: 1);
        Speedup(o, "mlp: Megatron MLP 4096 → 16384 → 4096, 512 tokens, forward time (median) and ratios",
            ReferenceMath.RandomMatrix(new Random(2), tokens, 4096), 2.0 * 2 * tokens * 4096 * 16384,
            mesh => Mlp4096.Create(mesh, mlp), (m, x) => m.Forward(x));

        // The transformer block: 4 causal sequences of 128 tokens. FLOPs: QKV, output, MLP GEMMs plus QKᵀ and PV.
        var block = Block2048.Weights.Random(seed: 3);
        int[] lengths = { 128, 128, 128, 128 };
        double d = 2048, f = 8192;
        double blockFlop = 2.0 * tokens * (3 * d * d + d * d + 2 * d * f) + 2.0 * 2 * lengths.Length * 128.0 * 128 * d;
        Speedup(o, "block: transformer block, hidden 2048, 16 heads, MLP 8192, 4 causal sequences of 128 tokens",
            ReferenceMath.RandomMatrix(new Random(4), tokens, 2048), blockFlop,
            mesh => Block2048.Create(mesh, block), (m, x) => m.Forward(x, lengths));
    }

    /// <summary>Times one model on 1×1, 2×1 and 1×2 (devices × threads) side by side and prints the ratios.</summary>
    private static void Speedup<T>(Options o, string title, float[,] x, double flop, Func<DeviceMesh, T> create, Func<T, float[,], float[,]> forward)
        where T : IShardedModel
    {
        using var mesh11 = DeviceMesh.CreateCpu(1, 1);
        using var mesh21 = DeviceMesh.CreateCpu(2, 1);
        using var mesh12 = DeviceMesh.CreateCpu(1, 2);
        using var m11 = create(mesh11);
        using var m21 = create(mesh21);
        using var m12 = create(mesh12);
        GC.Collect();

        float[,] y11 = null!, y21 = null!, y12 = null!;
        var t = Measure.SideBySide(o.Quick ? 3 : 5, 0, () => y11 = forward(m11, x), () => y21 = forward(m21, x), () => y12 = forward(m12, x));
        double speedup = t[0] / t[1], cost = t[1] / t[2] - 1;

        var table = new Table(title, "configuration", "ms", "GFLOP/s", "ratio", "target", "max |diff| vs 1×1");
        table.Add("1 device × 1 thread", t[0] * 1e3, flop / t[0] / 1e9, "1.00", "", "0");
        table.Add("2 devices × 1 thread (tensor-parallel)", t[1] * 1e3, flop / t[1] / 1e9, $"{speedup:F2}× vs 1×1", "≥ 1.85×", MaxDiff(y21, y11).ToString("E1"));
        table.Add("1 device × 2 threads", t[2] * 1e3, flop / t[2] / 1e9, $"sharding costs {100 * cost:F1}%", "≤ 5%", MaxDiff(y12, y11).ToString("E1"));
        table.Notes.Add($"Speedup 2×1 over 1×1: {speedup:F2}×. Sharding cost = t(2 devices × 1 thread) / t(1 device × 2 threads) − 1 = {100 * cost:+0.0;-0.0}%. " +
                        $"Traffic of the 2-device pass: {m21.LastForward}.");
        table.Print();
    }

    private static double MaxDiff(float[,] a, float[,] b)
    {
        double d = 0;
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++)
                d = Math.Max(d, Math.Abs(a[i, j] - b[i, j]));
        return d;
    }
}
