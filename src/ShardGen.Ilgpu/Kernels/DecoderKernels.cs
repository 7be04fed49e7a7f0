using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// The language-model kernels of the backend, one thread per output element (or rotated pair). Same semantics as the
/// CPU backend's (src/ShardGen/Kernels: RowGather, Rotary, Activations.GatedRow); the rotary angles come from the
/// same host tables, so both backends turn by the same numbers.
/// </summary>
internal static class DecoderKernels
{
    public static void Gather(Index1D i, GatherParams p, ArrayView<int> ids, ArrayView<float> table, ArrayView<float> output)
    {
        int cols = p.Output.Cols, t = i / cols, c = i - t * cols;
        int row = ids[t] - p.FirstRow; // both ≥ 0: no overflow
        output[p.Output.Offset + t * p.Output.Stride + c] =
            row >= 0 && row < p.TableRows ? table[p.Table.Offset + row * p.Table.Stride + c] : 0f;
    }

    public static void Rotary(Index1D i, RotaryParams p, ArrayView<int> positions, ArrayView<float> angles, ArrayView<float> x)
    {
        int half = p.HeadDim / 2, pairs = p.Heads * half;
        int t = i / pairs, rest = i - t * pairs, h = rest / half, k = rest - h * half;
        int at = p.X.Offset + t * p.X.Stride + h * p.HeadDim + k;
        int angle = positions[t] * half + k;
        float cos = angles[angle], sin = angles[p.SinOffset + angle];
        float a = x[at], b = x[at + half];
        // Two rounded products, then the sum, as PyTorch's q·cos + rotate_half(q)·sin.
        float ac = a * cos, bs = b * sin, bc = b * cos, as_ = a * sin;
        x[at] = ac - bs;
        x[at + half] = bc + as_;
    }

    public static void Gated(Index1D i, GatedParams p, ArrayView<float> gateUp, ArrayView<float> output)
    {
        int n = p.Output.Cols, r = i / n, j = i - r * n;
        int at = p.GateUp.Offset + r * p.GateUp.Stride + j;
        output[p.Output.Offset + r * p.Output.Stride + j] = DeviceKernels.Activate(gateUp[at], p.Activation) * gateUp[at + n];
    }
}
