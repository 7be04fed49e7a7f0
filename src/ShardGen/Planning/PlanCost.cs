namespace ShardGen.Planning;

/// <summary>
/// Bytes each step sends between devices (each step type's formula, in Planning/Steps), summed over all devices (divide by P for the per-device
/// figure). Exact for float32, including uneven token blocks, so tests can compare them to measured bytes.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class PlanCost
{
    public const int BytesPerElement = 4;

    /// <summary>Total bytes sent by <paramref name="step"/> on <paramref name="devices"/> devices for <paramref name="tokens"/> tokens.</summary>
    public static long TotalBytes(PlanStep step, LayerSpec? layer, int devices, int tokens) =>
        step.Type.TotalBytes(new Steps.StepSizes(step, layer, devices, tokens));

    /// <summary>Ring all-reduce of n floats over p devices: 2(p−1)·n floats in total, 2(p−1)/p·n per device.</summary>
    public static long RingAllReduce(long p, long n) => 2 * (p - 1) * n * BytesPerElement;

    /// <summary>
    /// SUMMA on a q×q grid for C[m, n] = A[m, k]·B (B is [k, n], or [n, k] for the A·Bᵀ variant).
    /// A·B broadcasts every A panel along grid rows and every B panel along grid columns:
    /// (q−1)(m·k + k·n). A·Bᵀ broadcasts B panels along grid columns and reduces C panels along grid rows:
    /// (q−1)(n·k + m·n).
    /// </summary>
    public static long SummaTotalBytes(bool transposedB, int q, long m, long n, long k)
    {
        long elements = transposedB ? (q - 1) * (n * k + m * n) : (q - 1) * (m * k + k * n);
        return elements * BytesPerElement;
    }

    /// <summary>Side of the square grid for <paramref name="devices"/> devices, or 0 when not square.</summary>
    public static int GridSide(int devices)
    {
        int q = (int)System.Math.Round(System.Math.Sqrt(devices));
        return q * q == devices ? q : 0;
    }
}
