using System.Collections.Generic;

namespace ShardGen.Collectives;

/// <summary>Rooted schedules over g members, one chunk (the whole buffer): (g−1)·N floats each, every non-root member sent to or sending once.</summary>
internal static class TreeSchedule
{
    /// <summary>
    /// Binomial-tree reduce: in round d (1, 2, 4, …) the member at position r ≡ d (mod 2d) relative to the root sends
    /// its partial sum to r−d, which adds it. ⌈log₂ g⌉ steps.
    /// </summary>
    public static CollectiveSchedule Reduce(int g, int root)
    {
        var transfers = new List<Transfer>();
        int step = 0;
        for (int d = 1; d < g; d *= 2, step++)
            for (int r = d; r < g; r += 2 * d)
                transfers.Add(new Transfer(step, (r + root) % g, (r - d + root) % g, 0, TransferOp.Add));
        return new CollectiveSchedule(g, 1, transfers);
    }

    /// <summary>A tree of depth one: the root sends its buffer straight to every other member in one step.</summary>
    public static CollectiveSchedule Broadcast(int g, int root)
    {
        var transfers = new List<Transfer>();
        for (int m = 0; m < g; m++)
            if (m != root) transfers.Add(new Transfer(0, root, m, 0, TransferOp.Copy));
        return new CollectiveSchedule(g, 1, transfers);
    }
}
