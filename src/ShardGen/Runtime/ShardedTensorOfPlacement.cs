using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// A <see cref="ShardedTensor"/> whose placement is in its type (<see cref="Replicated"/>, <see cref="ColumnShards"/>,
/// <see cref="PartialSums"/>…): the values a generated Forward passes between <see cref="ForwardPass"/> steps. Only the
/// pass makes them, and no conversion between placements exists, so a Forward that skips a collective does not
/// compile. A struct over the pass's reused tensor: a steady-state pass still allocates nothing.
/// </summary>
/// <typeparam name="TPlacement">The placement marker.</typeparam>
public readonly struct ShardedTensor<TPlacement>
{
    internal ShardedTensor(ShardedTensor tensor) => Tensor = tensor;

    /// <summary>The untyped tensor: its placement, shape and shards.</summary>
    public ShardedTensor Tensor { get; }

    public Placement Placement => Tensor.Placement;

    public int Features => Tensor.Features;

    public IReadOnlyList<MatrixView> Shards => Tensor.Shards;

    internal MatrixView[] ShardArray => Tensor.ShardArray;

    public override string ToString() => Tensor?.ToString() ?? "(none)";
}
