using ShardGen.Devices;

namespace ShardGen.Training;

/// <summary>
/// One device's piece of one logical parameter: rows [Row0, +Value.Rows) × columns [Col0, +Value.Cols) of tensor
/// <see cref="Key"/> (logical layout: matrices [in, out], vectors [1, n]) live in <see cref="Value"/> on device
/// <see cref="Rank"/>. The loader records one slice per read, so the list of a model's slices is exactly how its
/// weights are sharded; gradients and optimizer states are loaded the same way and line up slice for slice.
/// A replicated parameter (a norm scale, a bias added once) has one slice on every device, all with the same region.
/// </summary>
public sealed record ParameterSlice(WeightKey Key, int Rank, int Row0, int Col0, MatrixView Value)
{
    public int Rows => Value.Rows;

    public int Cols => Value.Cols;

    /// <summary>True when <paramref name="other"/> covers the same region of the same tensor (a replica of it).</summary>
    public bool SameRegion(ParameterSlice other) =>
        Key == other.Key && Row0 == other.Row0 && Col0 == other.Col0 && Rows == other.Rows && Cols == other.Cols;
}
