using System;
using ShardGen.Runtime;

namespace ShardGen.Mpi;

/// <summary>A 64-bit hash of each layer's full weights, to compare the copies that the MPI ranks hold.</summary>
internal static class WeightHashes
{
    /// <summary>Every array of the layer in a fixed order (a missing optional one counts too); 0 for no weights.</summary>
    public static long Of(LayerWeights? weights) => weights switch
    {
        null => 0,
        LinearWeights l => Linear(l),
        TransformerBlockWeights b => Combine(
            Vector(b.AttentionNormScale), Vector(b.AttentionNormShift), Linear(b.Qkv),
            Linear(b.Out), Vector(b.MlpNormScale), Vector(b.MlpNormShift), Linear(b.Up), Linear(b.Down)),
        _ => throw new NotSupportedException($"ShardGen.Mpi cannot compare weights of type {weights.GetType().Name}."),
    };

    private static long Linear(LinearWeights? l) =>
        l is null ? 1 : Combine((long)MpiDeviceMesh.ContentHash(HostMatrix.Span(l.Weight)), l.Weight.GetLength(0), l.Weight.GetLength(1), Vector(l.Bias));

    private static long Vector(float[]? v) => v is null ? 1 : (long)MpiDeviceMesh.ContentHash(v);

    private static long Combine(params long[] parts)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (long p in parts) h = (h ^ (ulong)p) * 0x100000001b3UL + (h >> 29);
        return (long)h;
    }
}
