using System;
using System.Collections.Generic;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.LanguageModel;

/// <summary>
/// A language model's logits in double precision, from the definitions and the same host weights (no runtime code):
/// token rows + position rows, pre-norm blocks (rotate_half RoPE, GQA, gated or plain MLP), final norm, head (or the
/// embedding transposed when tied).
/// </summary>
internal static class LanguageModelReference
{
    public static double[,] Logits(IReadOnlyList<LayerSpec> layers, InMemoryWeights w, int[] ids, int[] starts, int positionOffset = 0)
    {
        int t = ids.Length;
        double[,] x = null!;
        float[,]? table = null;
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            switch (l.Strategy)
            {
                case ParallelStrategy.VocabEmbedding:
                    table = w.Get(new WeightKey(i, -1, WeightRole.TokenEmbedding))!;
                    x = new double[t, l.OutFeatures];
                    for (int r = 0; r < t; r++) for (int c = 0; c < l.OutFeatures; c++) x[r, c] = table[ids[r], c];
                    break;
                case ParallelStrategy.PositionEmbedding:
                    var pos = w.Get(new WeightKey(i, -1, WeightRole.PositionEmbedding))!;
                    var p = Positions(starts, positionOffset);
                    for (int r = 0; r < t; r++) for (int c = 0; c < l.OutFeatures; c++) x[r, c] += pos[p[r], c];
                    break;
                case ParallelStrategy.TransformerStack:
                    for (int b = 0; b < l.Block!.Layers; b++) x = Block(x, l, i, b, w, starts, positionOffset);
                    break;
                case ParallelStrategy.FinalNorm:
                    x = TransformerReference.Norm(x, l.Norm, Vector(w, i, -1, WeightRole.FinalNormScale)!, Vector(w, i, -1, WeightRole.FinalNormShift), l.NormEpsilon);
                    break;
                case ParallelStrategy.LmHead:
                    x = l.Tied ? Transposed(x, table!) : ReferenceMath.Linear(x, w.Get(new WeightKey(i, -1, WeightRole.Head))!, Vector32(w, i, -1, WeightRole.HeadBias), false, Activation.None);
                    break;
            }
        }
        return x;
    }

    public static int[] Positions(int[] starts, int offset)
    {
        var p = new int[starts[^1]];
        for (int s = 0; s + 1 < starts.Length; s++)
            for (int r = starts[s]; r < starts[s + 1]; r++) p[r] = offset + r - starts[s];
        return p;
    }

    private static double[,] Block(double[,] x, LayerSpec l, int layer, int block, InMemoryWeights w, int[] starts, int offset)
    {
        var s = l.Block!;
        int t = x.GetLength(0), d = l.InFeatures, dh = s.HeadDim(d);
        float[,] M(WeightRole r) => w.Get(new WeightKey(layer, block, r))!;
        float[]? V(WeightRole r) => Vector32(w, layer, block, r);
        double[]? N(WeightRole r) => Vector(w, layer, block, r);

        var n1 = TransformerReference.Norm(x, s.Norm, N(WeightRole.AttentionNormScale)!, N(WeightRole.AttentionNormShift), s.Epsilon);
        var q = ReferenceMath.Linear(n1, M(WeightRole.Query), V(WeightRole.QueryBias), false, Activation.None);
        var k = ReferenceMath.Linear(n1, M(WeightRole.Key), V(WeightRole.KeyBias), false, Activation.None);
        var v = ReferenceMath.Linear(n1, M(WeightRole.Value), V(WeightRole.ValueBias), false, Activation.None);
        if (s.Rotary)
        {
            var p = Positions(starts, offset);
            Rotate(q, s.Heads, dh, p, s.RopeTheta);
            Rotate(k, s.KvHeads, dh, p, s.RopeTheta);
        }
        var qkv = Concat(q, k, v);
        var context = TransformerReference.Attention(qkv, s.Heads, s.KvHeads, dh, s.Causal, starts, s.SlidingWindow);
        var h = Add(x, ReferenceMath.Linear(context, M(WeightRole.AttentionOutput), V(WeightRole.AttentionOutputBias), false, Activation.None));
        var n2 = TransformerReference.Norm(h, s.Norm, N(WeightRole.MlpNormScale)!, N(WeightRole.MlpNormShift), s.Epsilon);
        double[,] hidden;
        if (s.Mlp == MlpKind.Gated)
        {
            var gate = ReferenceMath.Linear(n2, M(WeightRole.MlpGate), V(WeightRole.MlpGateBias), false, l.Activation);
            hidden = ReferenceMath.Linear(n2, M(WeightRole.MlpUp), V(WeightRole.MlpUpBias), false, Activation.None);
            for (int r = 0; r < t; r++) for (int c = 0; c < s.FfnHidden; c++) hidden[r, c] *= gate[r, c];
        }
        else
        {
            hidden = ReferenceMath.Linear(n2, M(WeightRole.MlpUp), V(WeightRole.MlpUpBias), false, l.Activation);
        }
        return Add(h, ReferenceMath.Linear(hidden, M(WeightRole.MlpDown), V(WeightRole.MlpDownBias), false, Activation.None));
    }

    /// <summary>Hugging Face rotate_half, in place on each head's two halves.</summary>
    private static void Rotate(double[,] x, int heads, int dh, int[] positions, double theta)
    {
        for (int r = 0; r < x.GetLength(0); r++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < dh / 2; i++)
                {
                    double a = positions[r] * Math.Pow(theta, -2.0 * i / dh);
                    int c = h * dh + i;
                    double x1 = x[r, c], x2 = x[r, c + dh / 2];
                    x[r, c] = x1 * Math.Cos(a) - x2 * Math.Sin(a);
                    x[r, c + dh / 2] = x2 * Math.Cos(a) + x1 * Math.Sin(a);
                }
    }

    private static double[,] Concat(params double[][,] parts)
    {
        int t = parts[0].GetLength(0), width = 0;
        foreach (var p in parts) width += p.GetLength(1);
        var y = new double[t, width];
        int at = 0;
        foreach (var p in parts)
        {
            for (int r = 0; r < t; r++) for (int c = 0; c < p.GetLength(1); c++) y[r, at + c] = p[r, c];
            at += p.GetLength(1);
        }
        return y;
    }

    private static double[,] Transposed(double[,] x, float[,] table)
    {
        int t = x.GetLength(0), d = x.GetLength(1), vocab = table.GetLength(0);
        var y = new double[t, vocab];
        for (int r = 0; r < t; r++)
            for (int o = 0; o < vocab; o++)
            {
                double sum = 0;
                for (int c = 0; c < d; c++) sum += x[r, c] * table[o, c];
                y[r, o] = sum;
            }
        return y;
    }

    private static double[,] Add(double[,] a, double[,] b)
    {
        var y = (double[,])a.Clone();
        for (int r = 0; r < a.GetLength(0); r++) for (int c = 0; c < a.GetLength(1); c++) y[r, c] += b[r, c];
        return y;
    }

    private static float[]? Vector32(InMemoryWeights w, int layer, int block, WeightRole role)
    {
        var m = w.Get(new WeightKey(layer, block, role));
        if (m is null) return null;
        var v = new float[m.GetLength(1)];
        for (int c = 0; c < v.Length; c++) v[c] = m[0, c];
        return v;
    }

    private static double[]? Vector(InMemoryWeights w, int layer, int block, WeightRole role) =>
        Vector32(w, layer, block, role) is { } v ? Array.ConvertAll(v, f => (double)f) : null;

    /// <summary>Random weights for every tensor <paramref name="plan"/> reads: matrices ±1/√rows, norm scales near 1, biases small.</summary>
    public static InMemoryWeights RandomWeights(ModelPlan plan, int seed)
    {
        var rng = new Random(seed);
        var w = new InMemoryWeights();
        foreach (var t in LanguageModelWeights.Expected(plan))
        {
            var m = new float[t.Rows, t.Cols];
            bool scale = t.Key.Role is WeightRole.AttentionNormScale or WeightRole.MlpNormScale or WeightRole.FinalNormScale;
            bool table = t.Key.Role is WeightRole.TokenEmbedding or WeightRole.PositionEmbedding;
            double spread = scale ? 0.2 : t.Rows == 1 ? 0.1 : table ? 1.0 : 1 / Math.Sqrt(t.Rows);
            for (int r = 0; r < t.Rows; r++)
                for (int c = 0; c < t.Cols; c++) m[r, c] = (float)((scale ? 1 : 0) + (rng.NextDouble() * 2 - 1) * spread);
            w.Set(t.Key, m);
        }
        return w;
    }
}
