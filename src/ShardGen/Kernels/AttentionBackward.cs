using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ShardGen.Devices;

namespace ShardGen.Kernels;

/// <summary>
/// Backward of scaled dot-product attention over packed sequences, recomputing each query's softmax from q and k
/// (nothing stored by the forward). Per (sequence, query head, query i) with p = softmax(s·qᵢ·Kᵀ) over the keys it sees:
/// dp_j = dOᵢ·v_j, ds_j = p_j(dp_j − Σ p·dp); dqᵢ = s·Σ ds_j k_j, dk_j += s·ds_j qᵢ, dv_j += p_j dOᵢ. Key and value
/// gradients of a kv head collect over the query heads of its group. Probabilities and sums in double per row.
/// </summary>
internal static unsafe class AttentionBackward
{
    public static void Run(float* qkv, nint ldq, float* dOut, nint ldo, float* dQkv, nint ldd, AttentionShape shape)
    {
        int d = shape.HeadDim, heads = shape.QueryHeads, kvHeads = shape.KvHeads, group = heads / kvHeads;
        int kOff = heads * d, vOff = (heads + kvHeads) * d, tokens = shape.Tokens;
        float scale = 1f / MathF.Sqrt(d);
        // The key and value sections accumulate over a group's heads: start from zero.
        for (int t = 0; t < tokens; t++) new Span<float>(dQkv + t * ldd + kOff, 2 * kvHeads * d).Clear();
        int longest = 0;
        for (int s = 0; s + 1 < shape.SequenceStarts.Length; s++)
            longest = Math.Max(longest, shape.SequenceStarts[s + 1] - shape.SequenceStarts[s]);
        var p = new double[longest];
        var dp = new double[longest];
        var dq = new double[d];
        for (int s = 0; s + 1 < shape.SequenceStarts.Length; s++)
        {
            int start = shape.SequenceStarts[s], length = shape.SequenceStarts[s + 1] - start;
            for (int h = 0; h < heads; h++)
            {
                int kv = h / group;
                for (int i = 0; i < length; i++)
                {
                    int keys = shape.Causal ? i + 1 : length;
                    float* q = qkv + (start + i) * ldq + h * d;
                    float* dO = dOut + (start + i) * ldo + h * d;
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < keys; j++)
                    {
                        p[j] = scale * (double)RowMath.Dot(q, qkv + (start + j) * ldq + kOff + kv * d, d);
                        max = Math.Max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < keys; j++) sum += p[j] = Math.Exp(p[j] - max);
                    double inv = 1 / sum, centre = 0;
                    // First Σ p·dp over the row, then the per-key updates that need it.
                    for (int j = 0; j < keys; j++)
                    {
                        p[j] *= inv;
                        dp[j] = RowMath.Dot(dO, qkv + (start + j) * ldq + vOff + kv * d, d);
                        centre += p[j] * dp[j];
                    }
                    Array.Clear(dq);
                    float* qGrad = dQkv + (start + i) * ldd + h * d;
                    for (int j = 0; j < keys; j++)
                    {
                        float* kj = qkv + (start + j) * ldq + kOff + kv * d;
                        float* row = dQkv + (start + j) * ldd;
                        double ds = p[j] * (dp[j] - centre) * scale;
                        for (int c = 0; c < d; c++) dq[c] += ds * kj[c];
                        RowMath.AddScaled(row + kOff + kv * d, (float)ds, q, d);
                        RowMath.AddScaled(row + vOff + kv * d, (float)p[j], dO, d);
                    }
                    for (int c = 0; c < d; c++) qGrad[c] = (float)dq[c];
                }
            }
        }
    }
}
