using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// An activation [tokens, features] spread over the mesh in one <see cref="Planning.Placement"/>:
/// <see cref="Shards"/>[rank] is that device's piece (the whole tensor when replicated or a partial sum,
/// its column shard, or its 2D block). The buffers belong to the <see cref="ForwardPass"/> that made them,
/// and so does this object: a model reuses its tensors in its next pass, so keep none beyond the pass.
/// </summary>
public sealed class ShardedTensor
{
    private readonly MatrixView[] _shards;

    internal ShardedTensor(int devices) => _shards = new MatrixView[devices];

    public Placement Placement { get; private set; }

    public int Tokens { get; private set; }

    public int Features { get; private set; }

    public IReadOnlyList<MatrixView> Shards => _shards;

    /// <summary>The shards, for the pass that fills them.</summary>
    internal MatrixView[] ShardArray => _shards;

    /// <summary>
    /// Training passes only: the input of the activation that made this tensor (an MLP's [gate | up] or z = x·W + b),
    /// kept for the activation's backward; null otherwise.
    /// </summary>
    internal ShardedTensor? PreActivation { get; set; }

    /// <summary>Gives this (reused) tensor its next meaning; the caller then fills every shard.</summary>
    internal ShardedTensor Reset(Placement placement, int tokens, int features)
    {
        Placement = placement;
        Tokens = tokens;
        Features = features;
        PreActivation = null;
        return this;
    }

    public override string ToString() => $"[{Tokens}, {Features}] {Placement} over {_shards.Length} devices";
}
