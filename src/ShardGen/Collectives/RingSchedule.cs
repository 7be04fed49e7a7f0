using System.Collections.Generic;

namespace ShardGen.Collectives;

/// <summary>
/// Ring schedules over g members: in every step each member m sends one chunk to m+1, so each step moves one chunk
/// per member whatever the chunk sizes. Chunk c of a collective is what member c owns in the end.
/// </summary>
internal static class RingSchedule
{
    /// <summary>
    /// Reduce-scatter then all-gather over g chunks of one buffer: 2(g−1) steps, 2(g−1)/g·N floats per member.
    /// Step s &lt; g−1: m sends its partial chunk m−s, the receiver adds it (chunk m+1 is complete on m after step
    /// g−2). Step g−1+s: m forwards the complete chunk m+1−s, the receiver copies it.
    /// </summary>
    public static CollectiveSchedule AllReduce(int g)
    {
        var transfers = new List<Transfer>();
        for (int s = 0; s < g - 1; s++) AddRingStep(transfers, g, s, s, TransferOp.Add);
        for (int s = 0; s < g - 1; s++) AddRingStep(transfers, g, g - 1 + s, s - 1, TransferOp.Copy);
        return new CollectiveSchedule(g, g, transfers);
    }

    /// <summary>g−1 steps: in step s member m forwards chunk (shard) m−s; (g−1)·Σ|shard| floats.</summary>
    public static CollectiveSchedule AllGather(int g)
    {
        var transfers = new List<Transfer>();
        for (int s = 0; s < g - 1; s++) AddRingStep(transfers, g, s, s, TransferOp.Copy);
        return new CollectiveSchedule(g, g, transfers);
    }

    /// <summary>
    /// g−1 steps: in step s member m sends its partial sum of chunk m−1−s, the receiver adds its own part; chunk m
    /// completes on member m. (g−1)·Σ|chunk| floats.
    /// </summary>
    public static CollectiveSchedule ReduceScatter(int g)
    {
        var transfers = new List<Transfer>();
        for (int s = 0; s < g - 1; s++) AddRingStep(transfers, g, s, s + 1, TransferOp.Add);
        return new CollectiveSchedule(g, g, transfers);
    }

    /// <summary>One ring step: every member m sends chunk m−<paramref name="lag"/> to m+1.</summary>
    private static void AddRingStep(List<Transfer> transfers, int g, int step, int lag, TransferOp op)
    {
        for (int m = 0; m < g; m++) transfers.Add(new Transfer(step, m, (m + 1) % g, Mod(m - lag, g), op));
    }

    private static int Mod(int x, int g) => ((x % g) + g) % g;
}
