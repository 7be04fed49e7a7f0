using ShardGen.Kernels;

namespace ShardGen.Cpu;

/// <summary>A queued rotary call: the caller's positions copied at enqueue, and an angle table that covers them.</summary>
internal sealed class RotaryJob(int[] positions, int heads, RotaryTable table)
{
    public int[] Positions { get; } = positions;

    public int Heads { get; } = heads;

    public RotaryTable Table { get; } = table;
}
