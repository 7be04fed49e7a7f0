using System;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

// Transformer-block kernels: normalization (one group per row) and attention (batched tiled GEMMs per sequence).
public sealed partial class IlgpuDevice
{
    /// <summary>Score floats one attention launch may use; heads are processed in chunks that fit.</summary>
    private const long ScoreBudget = 1L << 24;

    public override void Normalize(MatrixView x, MatrixView y, NormKind kind, MatrixView gamma, MatrixView? beta, float epsilon)
    {
        CheckNormalize(x, y, kind, gamma, beta, epsilon);

        Enqueue(() =>
        {
            var p = new NormParams
            {
                XOffset = x.Offset, Ldx = x.Stride, YOffset = y.Offset, Ldy = y.Stride, Cols = x.Cols,
                GammaOffset = gamma.Offset, BetaOffset = beta?.Offset ?? 0, HasBeta = beta.HasValue ? 1 : 0,
                Kind = kind == NormKind.LayerNorm ? 0 : 1, Epsilon = epsilon,
            };
            KernelSet.Normalize(Stream, p, x.Rows, ViewOf(x), ViewOf(y), ViewOf(gamma), beta is { } bb ? ViewOf(bb) : ViewOf(gamma));
        });
    }

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        CheckAttention(qkv, output, shape);
        // The kernel reads the starts when it runs: a copy, so a caller reusing its array cannot race it.
        shape = shape with { SequenceStarts = (int[])shape.SequenceStarts.Clone() };
        Enqueue(() => RunAttention(qkv, output, shape));
    }

    /// <summary>
    /// Per sequence, per chunk of heads: S = Q·Kᵀ for every head of the chunk in one batched GEMM launch (grid z =
    /// head; the key head of query head h is h / (QueryHeads / KvHeads)), the scaled masked softmax over the rows,
    /// then O = P·V in one batched launch, written straight into each head's columns of the output.
    /// </summary>
    private void RunAttention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        int heads = shape.QueryHeads, d = shape.HeadDim, group = shape.QueryHeads / shape.KvHeads;
        var q = ViewOf(qkv);
        var o = ViewOf(output);
        float scale = 1f / MathF.Sqrt(d);
        var starts = shape.SequenceStarts;
        for (int s = 0; s + 1 < starts.Length; s++)
        {
            int start = starts[s], length = starts[s + 1] - start;
            long perHead = (long)length * length;
            // Chunks are whole groups of query heads, so a chunk's key heads are consecutive.
            int chunk = (int)Math.Clamp(ScoreBudget / Math.Max(1, perHead * group), 1, heads / group) * group;
            for (int h0 = 0; h0 < heads; h0 += chunk)
            {
                int nh = Math.Min(chunk, heads - h0);
                var scores = Scratch(nh * perHead);
                int seq = qkv.Offset + start * qkv.Stride;
                var qk = new GemmParams
                {
                    M = length, N = length, K = d,
                    AOffset = seq + h0 * d, Lda = qkv.Stride, ABatch = d,
                    BOffset = seq + (heads + h0 / group) * d, Ldb = qkv.Stride, BBatch = d, BBatchDivisor = group, TransposeB = 1,
                    COffset = 0, Ldc = length, CBatch = (int)perHead,
                };
                KernelSet.Gemm(Stream, qk, q, q, scores, scores, nh);
                KernelSet.Softmax(Stream, new SoftmaxParams { Offset = 0, Length = length, Causal = shape.Causal ? 1 : 0, Scale = scale }, nh * length, scores);
                var pv = new GemmParams
                {
                    M = length, N = d, K = length,
                    AOffset = 0, Lda = length, ABatch = (int)perHead,
                    BOffset = seq + (heads + shape.KvHeads + h0 / group) * d, Ldb = qkv.Stride, BBatch = d, BBatchDivisor = group,
                    COffset = output.Offset + start * output.Stride + h0 * d, Ldc = output.Stride, CBatch = d,
                };
                KernelSet.Gemm(Stream, pv, scores, q, o, o, nh);
            }
        }
    }
}
