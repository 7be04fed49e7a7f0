using System.Collections.Generic;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>One logical tensor a planned language model reads: its key, [in, out] shape, and whether it must be there.</summary>
public readonly record struct ExpectedTensor(WeightKey Key, int Rows, int Cols);

/// <summary>The logical tensors a planned language model uploads, with the shapes its plan gives them.</summary>
public static class LanguageModelWeights
{
    /// <summary>Every tensor <paramref name="plan"/>'s layers read, in layer order (biases only where the layer has them).</summary>
    public static IEnumerable<ExpectedTensor> Expected(ModelPlan plan)
    {
        foreach (var layer in plan.Layers)
        {
            int i = layer.Index;
            switch (layer)
            {
                case Embedding e:
                    yield return new(new WeightKey(i, -1, ShardedEmbedding.RoleOf(e)), e.TableRows, e.Hidden);
                    break;
                case Norm n:
                    yield return new(new WeightKey(i, -1, WeightRole.FinalNormScale), 1, n.Hidden);
                    if (n.Kind == NormKind.LayerNorm) yield return new(new WeightKey(i, -1, WeightRole.FinalNormShift), 1, n.Hidden);
                    break;
                case TransformerStack s:
                    for (int b = 0; b < s.Count; b++)
                        foreach (var t in Block(s.Block, b)) yield return t;
                    break;
                case TransformerBlock block:
                    foreach (var t in Block(block, -1)) yield return t;
                    break;
                case Linear l when l.Strategy == ParallelStrategy.LmHead:
                    if (!l.Tied) yield return new(new WeightKey(i, -1, WeightRole.Head), l.InFeatures, l.OutFeatures);
                    if (l.HasBias) yield return new(new WeightKey(i, -1, WeightRole.HeadBias), 1, l.OutFeatures);
                    break;
            }
        }
    }

    private static IEnumerable<ExpectedTensor> Block(TransformerBlock b, int index)
    {
        int d = b.Hidden, q = b.Heads * b.HeadDim, kv = b.KvHeads * b.HeadDim, f = b.FfnHidden;
        bool shift = b.Shape.Norm == NormKind.LayerNorm;
        ExpectedTensor T(WeightRole role, int rows, int cols) => new(new WeightKey(b.Index, index, role), rows, cols);
        yield return T(WeightRole.AttentionNormScale, 1, d);
        if (shift) yield return T(WeightRole.AttentionNormShift, 1, d);
        yield return T(WeightRole.Query, d, q);
        yield return T(WeightRole.Key, d, kv);
        yield return T(WeightRole.Value, d, kv);
        if (b.HasQkvBias)
        {
            yield return T(WeightRole.QueryBias, 1, q);
            yield return T(WeightRole.KeyBias, 1, kv);
            yield return T(WeightRole.ValueBias, 1, kv);
        }
        yield return T(WeightRole.AttentionOutput, q, d);
        if (b.HasBias) yield return T(WeightRole.AttentionOutputBias, 1, d);
        yield return T(WeightRole.MlpNormScale, 1, d);
        if (shift) yield return T(WeightRole.MlpNormShift, 1, d);
        if (b.Gated)
        {
            yield return T(WeightRole.MlpGate, d, f);
            if (b.HasBias) yield return T(WeightRole.MlpGateBias, 1, f);
        }
        yield return T(WeightRole.MlpUp, d, f);
        if (b.HasBias) yield return T(WeightRole.MlpUpBias, 1, f);
        yield return T(WeightRole.MlpDown, f, d);
        if (b.HasBias) yield return T(WeightRole.MlpDownBias, 1, d);
    }
}
