using System;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

// Transformer-block kernels: normalization (one group per row) and attention (batched tiled GEMMs per sequence).
public sealed partial class IlgpuDevice
{
    /// <summary>Score floats one attention launch may use; heads are processed in launches that fit.</summary>
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

    /// <summary>Query rows per causal strip: each strip scores only the keys up to its last row.</summary>
    internal const int CausalStripRows = 64;

    /// <summary>
    /// Per sequence, per strip of queries (the whole sequence when not causal), per launch of heads: S = Q·Kᵀ for every
    /// head of the launch in one batched GEMM launch (grid z = head; the key head of query head h is h / (QueryHeads /
    /// KvHeads)) over the keys the strip can see, the scaled softmax over each row's own keys, then O = P·V. Causal
    /// strips are lower-triangular tiles: keys after the strip are never touched, P·V over the keys before the strip
    /// runs as one batched GEMM, and the strip's diagonal runs in a kernel that stops at each query's own key, so a
    /// token never reads a later one (about half the work of bidirectional attention, and a NaN there cannot leak back).
    /// </summary>
    private void RunAttention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        var starts = shape.SequenceStarts;
        for (int s = 0; s + 1 < starts.Length; s++)
        {
            int start = starts[s], length = starts[s + 1] - start;
            int strip = shape.Causal ? CausalStripRows : length;
            for (int first = 0; first < length; first += strip)
                RunAttentionStrip(qkv, output, shape, start, first, Math.Min(strip, length - first));
        }
    }

    /// <summary>Queries [first, first + rows) of the sequence at <paramref name="start"/>, every head.</summary>
    private void RunAttentionStrip(MatrixView qkv, MatrixView output, AttentionShape shape, int start, int first, int rows)
    {
        int heads = shape.QueryHeads, d = shape.HeadDim, group = shape.QueryHeads / shape.KvHeads;
        var q = ViewOf(qkv);
        var o = ViewOf(output);
        bool causal = shape.Causal;
        int keys = causal ? first + rows : rows; // a bidirectional strip is the whole sequence (first = 0)
        long perHead = (long)rows * keys;
        // A launch takes whole groups of query heads, so its key heads are consecutive.
        int headsPerLaunch = (int)Math.Clamp(ScoreBudget / Math.Max(1, perHead * group), 1, heads / group) * group;
        int seq = qkv.Offset + start * qkv.Stride;
        int outRows = output.Offset + (start + first) * output.Stride;
        for (int h0 = 0; h0 < heads; h0 += headsPerLaunch)
        {
            int nh = Math.Min(headsPerLaunch, heads - h0);
            var scores = Scratch(nh * perHead);
            var qk = new GemmParams
            {
                M = rows, N = keys, K = d,
                AOffset = seq + first * qkv.Stride + h0 * d, Lda = qkv.Stride, ABatch = d,
                BOffset = seq + (heads + h0 / group) * d, Ldb = qkv.Stride, BBatch = d, BBatchDivisor = group, TransposeB = 1,
                COffset = 0, Ldc = keys, CBatch = (int)perHead,
            };
            KernelSet.Gemm(Stream, qk, q, q, scores, scores, nh);
            KernelSet.Softmax(Stream, new SoftmaxParams
            {
                Offset = 0, Length = keys, Causal = causal ? 1 : 0, QueryRows = rows, FirstQuery = first, Window = shape.Window, Scale = 1f / MathF.Sqrt(d),
            }, nh * rows, scores);
            // P·V over the keys every row of the strip sees: all of them when bidirectional, those before the strip when causal.
            int shared = causal ? first : keys;
            int values = seq + (heads + shape.KvHeads + h0 / group) * d;
            var pv = new GemmParams
            {
                M = rows, N = d, K = shared,
                AOffset = 0, Lda = keys, ABatch = (int)perHead,
                BOffset = values, Ldb = qkv.Stride, BBatch = d, BBatchDivisor = group,
                COffset = outRows + h0 * d, Ldc = output.Stride, CBatch = d,
            };
            if (shared > 0) KernelSet.Gemm(Stream, pv, scores, q, o, o, nh);
            if (!causal) continue;
            KernelSet.CausalDiagonal(Stream, new CausalDiagonalParams
            {
                QueryRows = rows, FirstKey = first, HeadDim = d, Group = group, ScoreLd = keys,
                VOffset = values, Ldq = qkv.Stride, OOffset = outRows + h0 * d, Ldo = output.Stride, Accumulate = shared > 0 ? 1 : 0,
            }, nh, scores, q, o);
        }
    }
}
