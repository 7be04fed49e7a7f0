using System;

namespace ShardGen.Tests.Reference;

/// <summary>
/// Managed bytes a steady-state Forward allocates, shared by the allocation tests and the `memory` benchmark.
/// Measured with GC.GetTotalAllocatedBytes over the whole process: the device workers allocate too.
/// </summary>
internal static class Allocation
{
    /// <summary>A float[rows, cols]: the elements plus the array header and bounds.</summary>
    public static long FloatMatrixBytes(int rows, int cols) => (long)rows * cols * sizeof(float) + 32;

    /// <summary>
    /// Bytes per call: <paramref name="warmUp"/> calls first (pools, rings and caches fill), then the least over
    /// <paramref name="rounds"/> rounds of <paramref name="runs"/> calls (a background JIT tier-up may allocate during one).
    /// </summary>
    public static long PerForward(Func<float[,]> forward, int warmUp, int runs, int rounds)
    {
        for (int i = 0; i < warmUp; i++) forward();
        long best = long.MaxValue;
        for (int round = 0; round < rounds; round++)
            best = Math.Min(best, Round(forward, runs));
        return best;
    }

    private static long Round(Func<float[,]> forward, int runs)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < runs; i++) forward();
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / runs;
    }
}
