using System;

namespace ShardGen;

/// <summary>
/// Marks a <c>partial</c> class whose <see cref="Linear"/> properties are tensor-parallel layers.
/// ShardGen generates its <c>Weights</c>, <c>Create</c>, <c>Forward</c> and <c>Plan</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class ShardedModelAttribute : Attribute
{
    /// <summary>
    /// The device count the model is built for. When set, sharding rules are checked at compile time
    /// (diagnostics SHARD008–SHARD010) and <c>Create</c> accepts only a mesh of this size.
    /// When 0 (the default) the same rules are checked in <c>Create</c>.
    /// </summary>
    public int Devices { get; set; }

    /// <summary>
    /// Sequence parallelism for transformer blocks: the residual stream, norms and residual adds stay sharded
    /// by tokens; each all-reduce becomes a reduce-scatter over tokens and an all-gather of tokens precedes the
    /// next column-parallel projection. Same bytes, 1/P of the residual-stream memory per device.
    /// </summary>
    public bool SequenceParallel { get; set; }
}
