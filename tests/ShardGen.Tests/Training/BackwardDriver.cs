using System.Linq;
using ShardGen.Planning;
using ShardGen.Runtime;

namespace ShardGen.Tests.Training;

/// <summary>
/// Test-only stand-in for the generated ForwardBackward: exactly the training contract's sequence of ForwardPass calls
/// (forward with activations kept, CrossEntropy, then every step's backward in reverse plan order with the conjugate
/// collectives), for a language model with a replicated residual stream or with sequence parallelism.
/// </summary>
internal static class BackwardDriver
{
    public static double ForwardBackward(ShardedModelCore core, int[] inputIds, int[] targetIds, int[]? sequenceLengths = null, float gradientScale = 0)
    {
        var layers = core.Plan.Layers;
        int embed = Index<Embedding>(layers, e => e.IsVocabParallel), positions = Index<Embedding>(layers, e => !e.IsVocabParallel);
        int stack = Index<TransformerStack>(layers, _ => true), norm = Index<Norm>(layers, _ => true), head = Index<Linear>(layers, _ => true);
        using var pass = core.BeginTraining(inputIds, targetIds, sequenceLengths, gradientScale);
        return core.Plan.SequenceParallel
            ? SequenceParallel(core, pass, embed, positions, stack, norm, head)
            : Replicated(core, pass, embed, positions, stack, norm, head);
    }

    private static int Index<T>(System.Collections.Generic.IReadOnlyList<PlannedLayer> layers, System.Func<T, bool> which) where T : PlannedLayer
    {
        for (int i = 0; i < layers.Count; i++) if (layers[i] is T t && which(t)) return i;
        return -1;
    }

    private static double Replicated(ShardedModelCore core, ForwardPass pass, int embed, int positions, int stackIndex, int normIndex, int headIndex)
    {
        var stack = core.Stack(stackIndex);
        int n = stack.Count;
        var streams = new ShardedTensor<Replicated>[n];
        var a2 = new ShardedTensor<Replicated>[n];
        var a3 = new ShardedTensor<HeadShards>[n];
        var a4 = new ShardedTensor<ColumnShards>[n];
        var a6 = new ShardedTensor<Replicated>[n];
        var a7 = new ShardedTensor<Replicated>[n];
        var a8 = new ShardedTensor<ColumnShards>[n];
        var stream = pass.AllReduce(pass.TokenEmbedding(core.Embedding(embed)));
        if (positions >= 0) pass.PositionEmbedding(stream, core.Embedding(positions));
        for (int i = 0; i < n; i++)
        {
            var block = stack[i];
            streams[i] = stream;
            a2[i] = pass.AttentionNorm(stream, block);
            a3[i] = pass.QkvProjection(a2[i], block);
            a4[i] = pass.Attention(a3[i], block);
            a6[i] = pass.AllReduce(pass.AttentionOutput(a4[i], block));
            pass.AttentionResidual(a6[i], stream, block);
            a7[i] = pass.MlpNorm(a6[i], block);
            a8[i] = pass.MlpUp(a7[i], block);
            var a10 = pass.AllReduce(pass.MlpDown(a8[i], block));
            pass.MlpResidual(a10, a6[i], block);
            stream = a10;
        }
        var norm = core.Norm(normIndex);
        var head = core.Linear(headIndex);
        var a11 = pass.FinalNorm(stream, norm);
        var a12 = pass.LmHead(a11, head);

        var g = pass.CrossEntropy(a12);
        var dStream = pass.FinalNormBackward(pass.AllReduce(pass.LmHeadBackward(g, a11, head)), stream, norm);
        for (int i = n - 1; i >= 0; i--)
        {
            var block = stack[i];
            pass.MlpResidualBackward(dStream, block);
            var g8 = pass.MlpDownBackward(dStream, a8[i], block);
            var g7 = pass.AllReduce(pass.MlpUpBackward(g8, a7[i], block));
            pass.MlpNormBackward(g7, a6[i], dStream, block);
            pass.AttentionResidualBackward(dStream, block);
            var g4 = pass.AttentionOutputBackward(dStream, a4[i], block);
            var g3 = pass.AttentionBackward(g4, a3[i], block);
            var g2 = pass.AllReduce(pass.QkvProjectionBackward(g3, a2[i], block));
            pass.AttentionNormBackward(g2, streams[i], dStream, block);
        }
        if (positions >= 0) pass.PositionEmbeddingBackward(dStream, core.Embedding(positions));
        pass.TokenEmbeddingBackward(dStream, core.Embedding(embed));
        return pass.Loss();
    }

    // Sequence parallel: the stream is token-sharded between the tensor-parallel regions; an all-gather's backward is a
    // reduce-scatter over tokens and the other way round.
    private static double SequenceParallel(ShardedModelCore core, ForwardPass pass, int embed, int positions, int stackIndex, int normIndex, int headIndex)
    {
        var stack = core.Stack(stackIndex);
        int n = stack.Count;
        var streams = new ShardedTensor<TokenShards>[n];
        var a3 = new ShardedTensor<Replicated>[n];
        var a4 = new ShardedTensor<HeadShards>[n];
        var a5 = new ShardedTensor<ColumnShards>[n];
        var a7 = new ShardedTensor<TokenShards>[n];
        var a9 = new ShardedTensor<Replicated>[n];
        var a10 = new ShardedTensor<ColumnShards>[n];
        var stream = pass.ReduceScatterTokens(pass.TokenEmbedding(core.Embedding(embed)));
        if (positions >= 0) pass.PositionEmbedding(stream, core.Embedding(positions));
        for (int i = 0; i < n; i++)
        {
            var block = stack[i];
            streams[i] = stream;
            a3[i] = pass.AllGather(pass.AttentionNorm(stream, block));
            a4[i] = pass.QkvProjection(a3[i], block);
            a5[i] = pass.Attention(a4[i], block);
            a7[i] = pass.ReduceScatterTokens(pass.AttentionOutput(a5[i], block));
            pass.AttentionResidual(a7[i], stream, block);
            a9[i] = pass.AllGather(pass.MlpNorm(a7[i], block));
            a10[i] = pass.MlpUp(a9[i], block);
            var a12 = pass.ReduceScatterTokens(pass.MlpDown(a10[i], block));
            pass.MlpResidual(a12, a7[i], block);
            stream = a12;
        }
        var norm = core.Norm(normIndex);
        var head = core.Linear(headIndex);
        var a14 = pass.AllGather(pass.FinalNorm(stream, norm));
        var a15 = pass.LmHead(a14, head);

        var g = pass.CrossEntropy(a15);
        var dStream = pass.FinalNormBackward(pass.ReduceScatterTokens(pass.LmHeadBackward(g, a14, head)), stream, norm);
        for (int i = n - 1; i >= 0; i--)
        {
            var block = stack[i];
            pass.MlpResidualBackward(dStream, block);
            var g10 = pass.MlpDownBackward(pass.AllGather(dStream), a10[i], block);
            var g8 = pass.ReduceScatterTokens(pass.MlpUpBackward(g10, a9[i], block));
            pass.MlpNormBackward(g8, a7[i], dStream, block);
            pass.AttentionResidualBackward(dStream, block);
            var g5 = pass.AttentionOutputBackward(pass.AllGather(dStream), a5[i], block);
            var g4 = pass.AttentionBackward(g5, a4[i], block);
            var g2 = pass.ReduceScatterTokens(pass.QkvProjectionBackward(g4, a3[i], block));
            pass.AttentionNormBackward(g2, streams[i], dStream, block);
        }
        if (positions >= 0) pass.PositionEmbeddingBackward(dStream, core.Embedding(positions));
        pass.TokenEmbeddingBackward(pass.AllGather(dStream), core.Embedding(embed));
        pass.SumReplicatedGradients();
        return pass.Loss();
    }
}
