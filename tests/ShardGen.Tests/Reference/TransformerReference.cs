using System;
using System.Diagnostics.CodeAnalysis;
using ShardGen.Planning;

namespace ShardGen.Tests.Reference;

/// <summary>
/// A double-precision transformer block written from the definition (no runtime code):
/// h = x + Attn(Norm1(x)), y = h + Mlp(Norm2(h)), attention per sequence, GQA head mapping, optional causal mask.
/// </summary>
internal static class TransformerReference
{
    public static double[,] Block(double[,] x, LayerSpec spec, TransformerBlockWeights w, int[] sequenceStarts)
    {
        var b = spec.Block!;
        var n1 = Norm(x, b.Norm, ToDouble(w.AttentionNormScale), ToDouble(w.AttentionNormShift), b.Epsilon);
        var qkv = ReferenceMath.Linear(n1, w.Qkv.Weight, w.Qkv.Bias, false, Activation.None);
        var context = Attention(qkv, b.Heads, b.KvHeads, b.HeadDim(spec.InFeatures), b.Causal, sequenceStarts);
        var h = Add(x, ReferenceMath.Linear(context, w.Out.Weight, w.Out.Bias, false, Activation.None));
        var n2 = Norm(h, b.Norm, ToDouble(w.MlpNormScale), ToDouble(w.MlpNormShift), b.Epsilon);
        var up = ReferenceMath.Linear(n2, w.Up.Weight, w.Up.Bias, false, spec.Activation);
        return Add(h, ReferenceMath.Linear(up, w.Down.Weight, w.Down.Bias, false, Activation.None));
    }

    /// <summary>
    /// Per-row LayerNorm/RmsNorm. LayerNorm's variance is the population variance (as PyTorch), taken in two passes
    /// (mean first, then squared deviations) so it does not cancel for rows far from zero.
    /// </summary>
    public static double[,] Norm(double[,] x, NormKind kind, double[] scale, double[]? shift, double epsilon)
    {
        int t = x.GetLength(0), d = x.GetLength(1);
        var y = new double[t, d];
        for (int r = 0; r < t; r++)
        {
            double center = kind == NormKind.LayerNorm ? Mean(x, r) : 0;
            double square = 0;
            for (int c = 0; c < d; c++) square += (x[r, c] - center) * (x[r, c] - center);
            double inv = 1 / Math.Sqrt(square / d + epsilon);
            for (int c = 0; c < d; c++)
                y[r, c] = (x[r, c] - center) * inv * scale[c] + (kind == NormKind.LayerNorm && shift is not null ? shift[c] : 0);
        }
        return y;
    }

    private static double Mean(double[,] x, int row)
    {
        double sum = 0;
        for (int c = 0; c < x.GetLength(1); c++) sum += x[row, c];
        return sum / x.GetLength(1);
    }

    /// <summary>
    /// Scaled dot-product attention from the definition: per sequence and query head, softmax over the visible keys
    /// of q·k/√d, then the weighted sum of values. qkv columns: every query head, then every key head, then every
    /// value head; query head h reads key/value head h / (heads / kvHeads). A sliding <paramref name="window"/> W &gt; 0
    /// (causal) keeps keys j with i − W &lt; j ≤ i (positions inside the sequence).
    /// </summary>
    public static double[,] Attention(double[,] qkv, int heads, int kvHeads, int dh, bool causal, int[] starts, int window = 0)
    {
        int t = qkv.GetLength(0), group = heads / kvHeads;
        var context = new double[t, heads * dh];
        var p = new double[t];
        for (int s = 0; s + 1 < starts.Length; s++)
            for (int h = 0; h < heads; h++)
            {
                int qc = h * dh, kc = (heads + h / group) * dh, vc = (heads + kvHeads + h / group) * dh;
                for (int i = starts[s]; i < starts[s + 1]; i++)
                {
                    int last = causal ? i : starts[s + 1] - 1, first = window > 0 ? Math.Max(starts[s], i - window + 1) : starts[s];
                    double max = double.NegativeInfinity, sum = 0;
                    for (int j = first; j <= last; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < dh; e++) dot += qkv[i, qc + e] * qkv[j, kc + e];
                        p[j] = dot / Math.Sqrt(dh);
                        max = Math.Max(max, p[j]);
                    }
                    for (int j = first; j <= last; j++) sum += p[j] = Math.Exp(p[j] - max);
                    for (int e = 0; e < dh; e++)
                    {
                        double o = 0;
                        for (int j = first; j <= last; j++) o += p[j] * qkv[j, vc + e];
                        context[i, qc + e] = o / sum;
                    }
                }
            }
        return context;
    }

    /// <summary>Sequence starts (0, then running sums, ending at the token count) of sequences of <paramref name="lengths"/>.</summary>
    public static int[] Starts(int[] lengths)
    {
        var starts = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) starts[s + 1] = starts[s] + lengths[s];
        return starts;
    }

    /// <summary>As <see cref="Starts(int[])"/>; null lengths mean one sequence of all <paramref name="tokens"/> (as Forward's).</summary>
    public static int[] Starts(int[]? lengths, int tokens) => Starts(lengths ?? new[] { tokens });

    [return: NotNullIfNotNull(nameof(v))]
    private static double[]? ToDouble(float[]? v) => v is null ? null : Array.ConvertAll(v, e => (double)e);

    private static double[,] Add(double[,] a, double[,] b)
    {
        var y = new double[a.GetLength(0), a.GetLength(1)];
        for (int r = 0; r < a.GetLength(0); r++)
            for (int c = 0; c < a.GetLength(1); c++)
                y[r, c] = a[r, c] + b[r, c];
        return y;
    }
}
