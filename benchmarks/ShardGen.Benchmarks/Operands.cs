using System;

namespace ShardGen.Benchmarks;

/// <summary>
/// Operands for kernels timed alone. Random, never zero-filled: on this CPU the same GEMMs ran 1.13–1.34× faster on
/// all-zero buffers than on real data (2026-12-03, the prefill's set: 485.5 against 641.5 ms), a speed no model has.
/// </summary>
internal static class Operands
{
    /// <summary><paramref name="count"/> values uniform in [-1, 1).</summary>
    public static float[] Random(int count, Random random)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}
