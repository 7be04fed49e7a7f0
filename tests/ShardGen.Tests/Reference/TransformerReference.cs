using System;
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
        var n1 = Norm(x, b.Norm, w.AttentionNormScale, w.AttentionNormShift, b.Epsilon);
        var qkv = ReferenceMath.Linear(n1, w.Qkv.Weight, w.Qkv.Bias, false, Activation.None);
        var context = Attention(qkv, b.Heads, b.KvHeads, b.HeadDim(spec.InFeatures), b.Causal, sequenceStarts);
        var h = Add(x, ReferenceMath.Linear(context, w.Out.Weight, w.Out.Bias, false, Activation.None));
        var n2 = Norm(h, b.Norm, w.MlpNormScale, w.MlpNormShift, b.Epsilon);
        var up = ReferenceMath.Linear(n2, w.Up.Weight, w.Up.Bias, false, spec.Activation);
        return Add(h, ReferenceMath.Linear(up, w.Down.Weight, w.Down.Bias, false, Activation.None));
    }

    public static double[,] Norm(double[,] x, NormKind kind, float[] scale, float[]? shift, float epsilon)
    {
        int t = x.GetLength(0), d = x.GetLength(1);
        var y = new double[t, d];
        for (int r = 0; r < t; r++)
        {
            double mean = 0, square = 0;
            for (int c = 0; c < d; c++) { mean += x[r, c]; square += x[r, c] * x[r, c]; }
            mean /= d;
            square /= d;
            double center = kind == NormKind.LayerNorm ? mean : 0;
            double variance = kind == NormKind.LayerNorm ? square - mean * mean : square;
            double inv = 1 / Math.Sqrt(variance + epsilon);
            for (int c = 0; c < d; c++)
                y[r, c] = (x[r, c] - center) * inv * scale[c] + (kind == NormKind.LayerNorm && shift is not null ? shift[c] : 0);
        }
        return y;
    }

    /// <summary>qkv columns: every query head, then every key head, then every value head.</summary>
    public static double[,] Attention(double[,] qkv, int heads, int kvHeads, int dh, bool causal, int[] starts)
    {
        int t = qkv.GetLength(0), group = heads / kvHeads;
        var context = new double[t, heads * dh];
        for (int s = 0; s + 1 < starts.Length; s++)
            for (int h = 0; h < heads; h++)
            {
                int qc = h * dh, kc = heads * dh + h / group * dh, vc = (heads + kvHeads) * dh + h / group * dh;
                for (int i = starts[s]; i < starts[s + 1]; i++)
                {
                    int last = causal ? i : starts[s + 1] - 1;
                    var scores = new double[last - starts[s] + 1];
                    double max = double.NegativeInfinity;
                    for (int j = starts[s]; j <= last; j++)
                    {
                        double dot = 0;
                        for (int e = 0; e < dh; e++) dot += qkv[i, qc + e] * qkv[j, kc + e];
                        scores[j - starts[s]] = dot / Math.Sqrt(dh);
                        max = Math.Max(max, scores[j - starts[s]]);
                    }
                    double sum = 0;
                    for (int k = 0; k < scores.Length; k++) sum += scores[k] = Math.Exp(scores[k] - max);
                    for (int j = starts[s]; j <= last; j++)
                        for (int e = 0; e < dh; e++)
                            context[i, qc + e] += scores[j - starts[s]] / sum * qkv[j, vc + e];
                }
            }
        return context;
    }

    private static double[,] Add(double[,] a, double[,] b)
    {
        var y = new double[a.GetLength(0), a.GetLength(1)];
        for (int r = 0; r < a.GetLength(0); r++)
            for (int c = 0; c < a.GetLength(1); c++)
                y[r, c] = a[r, c] + b[r, c];
        return y;
    }
}
