using System;

namespace ShardGen.Runtime;

/// <summary>A layer's parameters resident on the mesh: <see cref="ShardedLinear"/> or <see cref="ShardedTransformerBlock"/>.</summary>
public interface IShardedLayer : IDisposable
{
    /// <summary>The layer as planned.</summary>
    PlannedLayer Layer { get; }
}
