using ShardGen.Devices;

namespace ShardGen.Training;

/// <summary>
/// One device's piece of one logical parameter: rows [Row0, +Value.Rows) × columns [Col0, +Value.Cols) of tensor
/// <see cref="Key"/> (logical layout: matrices [in, out], vectors [1, n]) live in <see cref="Value"/> (transposed when
/// <see cref="Transposed"/>) on device
/// <see cref="Rank"/>. The loader records one slice per read, so the list of a model's slices is exactly how its
/// weights are sharded; gradients and optimizer states are loaded the same way and line up slice for slice.
/// A replicated parameter (a norm scale, a bias added once) has one slice on every device, all with the same region.
/// </summary>
public sealed record ParameterSlice(WeightKey Key, int Rank, int Row0, int Col0, MatrixView Value)
{
    /// <summary>
    /// True when <see cref="Value"/> holds the region transposed, [Cols, Rows]: an [out, in] tensor a CPU device uses in
    /// place in its checkpoint's mapping (its gradient and optimizer states are shaped alike).
    /// </summary>
    public bool Transposed { get; init; }

    /// <summary>Rows of the region in the logical tensor.</summary>
    public int Rows => Transposed ? Value.Cols : Value.Rows;

    /// <summary>Columns of the region in the logical tensor.</summary>
    public int Cols => Transposed ? Value.Rows : Value.Cols;

    /// <summary>
    /// Downloads the region into <paramref name="destination"/> as logical rows × columns, row-major (a transposed slice
    /// is transposed on the host). Waits for the device.
    /// </summary>
    public void Download(System.Span<float> destination)
    {
        if (!Transposed)
        {
            Value.Device.Download(Value, destination, Cols);
            return;
        }
        var stored = new float[Value.Elements];
        Value.Device.Download(Value, stored, Value.Cols);
        for (int r = 0; r < Value.Rows; r++)
            for (int c = 0; c < Value.Cols; c++)
                destination[c * Value.Rows + r] = stored[r * Value.Cols + c];
    }

    /// <summary>Uploads logical rows × columns, row-major, from <paramref name="source"/> into the region (transposing a transposed slice).</summary>
    public void Upload(System.ReadOnlySpan<float> source)
    {
        if (!Transposed)
        {
            Value.Device.Upload(source[..(Rows * Cols)], Cols, Value);
            return;
        }
        var stored = new float[Value.Elements];
        for (int r = 0; r < Value.Rows; r++)
            for (int c = 0; c < Value.Cols; c++)
                stored[r * Value.Cols + c] = source[c * Value.Rows + r];
        Value.Device.Upload(stored, Value.Cols, Value);
    }

    /// <summary>True when <paramref name="other"/> covers the same region of the same tensor (a replica of it).</summary>
    public bool SameRegion(ParameterSlice other) =>
        Key == other.Key && Row0 == other.Row0 && Col0 == other.Col0 && Rows == other.Rows && Cols == other.Cols;
}
