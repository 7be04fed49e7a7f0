using System;
using System.Threading;
using ILGPU;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

// Attention in strips of queries: batched tiled GEMMs for Q·Kᵀ and the P·V every query of a strip shares, a row
// softmax, and a band kernel for the keys each query sees on its own. Shared by the plain and the KV-cache forward.
public sealed partial class IlgpuDevice
{
    /// <summary>Score floats one attention launch may use; heads are processed in launches that fit.</summary>
    private const long ScoreBudget = 1L << 24;

    /// <summary>Query rows per causal strip: each strip scores only the keys up to its last row.</summary>
    internal const int CausalStripRows = 64;

    /// <summary>The fewest query rows of a sliding-window strip: fewer would spend more in launches than they save.</summary>
    internal const int WindowStripMinRows = 16;

    private long _attentionScores;

    /// <summary>
    /// Q·Kᵀ scores the attention launches have computed so far (heads × query rows × key columns of every strip), the
    /// bound of the softmax's and the band kernel's work: tests read it to see the work follow the window.
    /// </summary>
    internal long AttentionScores => Interlocked.Read(ref _attentionScores);

    /// <summary>
    /// Where the strips of one sequence read and write: query row r at QOffset + r·Ldq and output row r at
    /// OOffset + r·Ldo (head 0); the key and value of position p at KOffset + p·Ldk and VOffset + p·Ldv (kv head 0).
    /// Query row r is position FirstPosition + r (FirstPosition: the tokens already in a KV cache; 0 without one).
    /// </summary>
    private readonly record struct AttentionOperands(ArrayView<float> Q, int QOffset, int Ldq, ArrayView<float> K, int KOffset, int Ldk,
        ArrayView<float> V, int VOffset, int Ldv, ArrayView<float> O, int OOffset, int Ldo, int FirstPosition);

    /// <summary>
    /// Query rows per strip: the whole sequence when bidirectional; causal strips of 64, or under a sliding window W
    /// about W (16 to 64), so a strip's score tile, rows × (rows + W − 1), stays within a few times the W keys per query.
    /// </summary>
    private static int StripRows(AttentionShape shape, int length) =>
        !shape.Causal ? length : shape.Window > 0 ? Math.Clamp(shape.Window, WindowStripMinRows, CausalStripRows) : CausalStripRows;

    /// <summary>Per sequence, per strip of queries: see <see cref="RunAttentionStrip"/>.</summary>
    private void RunAttention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        var starts = shape.SequenceStarts;
        int heads = shape.QueryHeads, d = shape.HeadDim;
        var q = ViewOf(qkv);
        for (int s = 0; s + 1 < starts.Length; s++)
        {
            int start = starts[s], length = starts[s + 1] - start, seq = qkv.Offset + start * qkv.Stride;
            var operands = new AttentionOperands(q, seq, qkv.Stride, q, seq + heads * d, qkv.Stride,
                q, seq + (heads + shape.KvHeads) * d, qkv.Stride, ViewOf(output), output.Offset + start * output.Stride, output.Stride, 0);
            int strip = StripRows(shape, length);
            for (int first = 0; first < length; first += strip)
                RunAttentionStrip(operands, shape, first, Math.Min(strip, length - first), length);
        }
    }

    /// <summary>
    /// Query rows [first, first + rows) of a sequence of <paramref name="keys"/> keys, every head, per launch of heads:
    /// S = Q·Kᵀ in one batched GEMM (grid z = head; query head h reads key head h / (QueryHeads / KvHeads)) over the
    /// keys the strip can see, the scaled softmax over each row's own keys, then O = P·V. Causal strips are
    /// lower-triangular: keys after the strip's last row, and under a sliding window before its first row's first key,
    /// are never scored. P·V over the rectangle of keys every row sees runs as a batched GEMM; the keys only some rows
    /// see (the strip's diagonal, and under a window the upper rows' oldest keys) run in a band kernel that visits each
    /// query's own keys only, so a token never reads one it does not see (a NaN there cannot leak in).
    /// </summary>
    private void RunAttentionStrip(in AttentionOperands x, AttentionShape shape, int first, int rows, int keys)
    {
        int heads = shape.QueryHeads, d = shape.HeadDim, group = shape.QueryHeads / shape.KvHeads;
        bool causal = shape.Causal;
        int position = x.FirstPosition + first;
        int k0 = causal ? shape.FirstKey(position) : 0; // score column 0: the strip's first row's first key
        int columns = (causal ? position + rows : keys) - k0;
        // Columns [shared, diagonal) are keys every row sees (P·V on the GEMM); diagonal is the first row's own key.
        int diagonal = causal ? position - k0 : columns;
        int shared = causal && shape.Window > 0 ? Math.Clamp(diagonal + rows - shape.Window, 0, diagonal) : 0;
        long perHead = (long)rows * columns;
        // A launch takes whole groups of query heads, so its key heads are consecutive.
        int headsPerLaunch = (int)Math.Clamp(ScoreBudget / Math.Max(1, perHead * group), 1, heads / group) * group;
        for (int h0 = 0; h0 < heads; h0 += headsPerLaunch)
        {
            int nh = Math.Min(headsPerLaunch, heads - h0);
            var scores = Scratch(nh * perHead);
            Interlocked.Add(ref _attentionScores, nh * perHead);
            var qk = new GemmParams
            {
                M = rows, N = columns, K = d,
                AOffset = x.QOffset + first * x.Ldq + h0 * d, Lda = x.Ldq, ABatch = d,
                BOffset = x.KOffset + k0 * x.Ldk + h0 / group * d, Ldb = x.Ldk, BBatch = d, BBatchDivisor = group, TransposeB = 1,
                COffset = 0, Ldc = columns, CBatch = (int)perHead,
            };
            KernelSet.Gemm(Stream, qk, x.Q, x.K, scores, scores, nh);
            KernelSet.Softmax(Stream, new SoftmaxParams
            {
                Offset = 0, Length = columns, Causal = causal ? 1 : 0, QueryRows = rows, FirstQuery = position, FirstKey = k0,
                Window = shape.Window, Scale = 1f / MathF.Sqrt(d),
            }, nh * rows, scores);
            int values = x.VOffset + k0 * x.Ldv + h0 / group * d; // value of score column 0, first head of the launch
            int outRows = x.OOffset + first * x.Ldo + h0 * d;
            var pv = new GemmParams
            {
                M = rows, N = d, K = diagonal - shared,
                AOffset = shared, Lda = columns, ABatch = (int)perHead,
                BOffset = values + shared * x.Ldv, Ldb = x.Ldv, BBatch = d, BBatchDivisor = group,
                COffset = outRows, Ldc = x.Ldo, CBatch = d,
            };
            if (pv.K > 0) KernelSet.Gemm(Stream, pv, scores, x.V, x.O, x.O, nh);
            if (!causal) continue;
            KernelSet.CausalBand(Stream, new CausalBandParams
            {
                QueryRows = rows, Diagonal = diagonal, Shared = shared, Window = shape.Window, HeadDim = d, Group = group, ScoreLd = columns,
                VOffset = values, Ldv = x.Ldv, OOffset = outRows, Ldo = x.Ldo, Accumulate = pv.K > 0 ? 1 : 0,
            }, nh, scores, x.V, x.O);
        }
    }
}
