using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// An activation [tokens, features] spread over the mesh in one <see cref="TensorLayout"/>:
/// <see cref="Shards"/>[rank] is that device's piece (the whole tensor when replicated or a partial sum,
/// its column shard, or its 2D block). The buffers belong to the <see cref="ForwardPass"/> that made them.
/// </summary>
public sealed class ShardedTensor
{
    internal ShardedTensor(TensorLayout layout, int tokens, int features, IReadOnlyList<MatrixView> shards)
    {
        Layout = layout;
        Tokens = tokens;
        Features = features;
        Shards = shards;
    }

    public TensorLayout Layout { get; }

    public int Tokens { get; }

    public int Features { get; }

    public IReadOnlyList<MatrixView> Shards { get; }

    public override string ToString() => $"[{Tokens}, {Features}] {Layout} over {Shards.Count} devices";
}
