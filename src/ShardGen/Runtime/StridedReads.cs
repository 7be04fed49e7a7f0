using System;

namespace ShardGen.Runtime;

/// <summary>
/// A weight source that reads a slice into rows a given stride apart: straight into a column
/// range of a device buffer (a fused q|k|v or gate|up weight), with no host block in between.
/// </summary>
internal interface IStridedWeightSource
{
    /// <summary>As <see cref="IWeightSource.Read"/>, row r of the slice at destination[r · destinationStride].</summary>
    void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride);
}

internal static class StridedReads
{
    /// <summary>
    /// Reads the slice into rows <paramref name="destinationStride"/> apart: in one call where the source reads strided
    /// or the rows are dense, else row by row (host arrays and other sources that read any row as cheaply).
    /// </summary>
    public static void Read(IWeightSource source, WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride)
    {
        if (source is IStridedWeightSource strided) strided.Read(key, row0, rows, col0, cols, destination, destinationStride);
        else if (destinationStride == cols || rows <= 1) source.Read(key, row0, rows, col0, cols, destination[..(rows * cols)]);
        else
            for (int r = 0; r < rows; r++)
                source.Read(key, row0 + r, 1, col0, cols, destination.Slice(r * destinationStride, cols));
    }
}
