using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// Backward of packed-sequence attention, softmax recomputed from q and k, in three launches without atomics: per
/// (token, query head) the row's max, Σexp and Σ p·dp into scratch; per element of dQ the sum over the keys the query
/// sees; per element of dK and dV the sum over the queries (and the group's query heads) that see the key. Simple and
/// exact (it recomputes q·k per element), not yet tiled for speed. bounds[2t], bounds[2t + 1]: token t's sequence.
/// </summary>
internal static class AttentionBackwardKernels
{
    private static float Dot(ArrayView<float> a, int ai, ArrayView<float> b, int bi, int d)
    {
        float s = 0f;
        for (int c = 0; c < d; c++) s += a[ai + c] * b[bi + c];
        return s;
    }

    private static int KeyEnd(AttentionBackwardParams p, ArrayView<int> bounds, int t) => p.Causal != 0 ? t + 1 : bounds[2 * t + 1];

    /// <summary>Token t's first key: its sequence's first, or under a sliding window W the later of that and t − W + 1.</summary>
    private static int KeyStart(AttentionBackwardParams p, ArrayView<int> bounds, int t) =>
        p.Window > 0 && t - p.Window + 1 > bounds[2 * t] ? t - p.Window + 1 : bounds[2 * t];

    /// <summary>One past the last query that sees key j: its sequence's end, or under a sliding window W at most j + W.</summary>
    private static int QueryEnd(AttentionBackwardParams p, ArrayView<int> bounds, int j) =>
        p.Window > 0 && j + p.Window < bounds[2 * j + 1] ? j + p.Window : bounds[2 * j + 1];

    public static void Statistics(Index1D i, AttentionBackwardParams p, ArrayView<int> bounds, ArrayView<float> qkv, ArrayView<float> dOut, ArrayView<float> stats)
    {
        int t = i / p.Heads, h = i - t * p.Heads, d = p.HeadDim, kv = h / p.Group;
        int q = p.Qkv.Offset + t * p.Qkv.Stride + h * d, o = p.DOut.Offset + t * p.DOut.Stride + h * d;
        int k0 = p.Qkv.Offset + p.Heads * d + kv * d, v0 = k0 + p.KvHeads * d;
        int first = KeyStart(p, bounds, t), end = KeyEnd(p, bounds, t);
        float max = float.NegativeInfinity;
        for (int j = first; j < end; j++) { float s = p.Scale * Dot(qkv, q, qkv, k0 + j * p.Qkv.Stride, d); if (s > max) max = s; }
        double sum = 0, centre = 0;
        for (int j = first; j < end; j++)
        {
            double e = KernelMath.Exp(p.Scale * Dot(qkv, q, qkv, k0 + j * p.Qkv.Stride, d) - max);
            sum += e;
            centre += e * Dot(dOut, o, qkv, v0 + j * p.Qkv.Stride, d);
        }
        stats[3 * i] = max;
        stats[3 * i + 1] = (float)sum;
        stats[3 * i + 2] = (float)(centre / sum);
    }

    /// <summary>ds of (query t, head h, key j), and p through <paramref name="prob"/>.</summary>
    private static double Ds(AttentionBackwardParams p, ArrayView<float> qkv, ArrayView<float> dOut, ArrayView<float> stats, int t, int h, int j, out double prob)
    {
        int d = p.HeadDim, kv = h / p.Group, i = t * p.Heads + h;
        int q = p.Qkv.Offset + t * p.Qkv.Stride + h * d, o = p.DOut.Offset + t * p.DOut.Stride + h * d;
        int k = p.Qkv.Offset + j * p.Qkv.Stride + p.Heads * d + kv * d, v = k + p.KvHeads * d;
        prob = KernelMath.Exp(p.Scale * Dot(qkv, q, qkv, k, d) - stats[3 * i]) / stats[3 * i + 1];
        return prob * (Dot(dOut, o, qkv, v, d) - stats[3 * i + 2]);
    }

    public static void Query(Index1D i, AttentionBackwardParams p, ArrayView<int> bounds, ArrayView<float> qkv, ArrayView<float> dOut,
        ArrayView<float> stats, ArrayView<float> dQkv)
    {
        int d = p.HeadDim, per = p.Heads * d, t = i / per, rest = i - t * per, h = rest / d, c = rest - h * d, kv = h / p.Group;
        double acc = 0;
        for (int j = KeyStart(p, bounds, t), end = KeyEnd(p, bounds, t); j < end; j++)
            acc += Ds(p, qkv, dOut, stats, t, h, j, out _) * qkv[p.Qkv.Offset + j * p.Qkv.Stride + p.Heads * d + kv * d + c];
        dQkv[p.DQkv.Offset + t * p.DQkv.Stride + h * d + c] = (float)(p.Scale * acc);
    }

    public static void KeyValue(Index1D i, AttentionBackwardParams p, ArrayView<int> bounds, ArrayView<float> qkv, ArrayView<float> dOut,
        ArrayView<float> stats, ArrayView<float> dQkv)
    {
        int d = p.HeadDim, per = p.KvHeads * d, j = i / per, rest = i - j * per, kv = rest / d, c = rest - kv * d;
        double dk = 0, dv = 0;
        int first = p.Causal != 0 ? j : bounds[2 * j], end = QueryEnd(p, bounds, j);
        for (int g = 0; g < p.Group; g++)
        {
            int h = kv * p.Group + g;
            for (int t = first; t < end; t++)
            {
                double ds = Ds(p, qkv, dOut, stats, t, h, j, out double prob);
                dk += ds * qkv[p.Qkv.Offset + t * p.Qkv.Stride + h * d + c];
                dv += prob * dOut[p.DOut.Offset + t * p.DOut.Stride + h * d + c];
            }
        }
        int at = p.DQkv.Offset + j * p.DQkv.Stride + p.Heads * d + kv * d + c;
        dQkv[at] = (float)(p.Scale * dk);
        dQkv[at + p.KvHeads * d] = (float)dv;
    }
}

internal struct AttentionBackwardParams
{
    public ViewLayout Qkv, DOut, DQkv;
    public int Heads, KvHeads, HeadDim, Group, Causal, Window;
    public float Scale;
}
