using ShardGen.Devices;

namespace ShardGen.Runtime;

/// <summary>
/// A weight source whose tensors devices can use in place, as views of the source's own memory (a checkpoint's F32
/// tensors in a private mapping of the file), in the tensor's stored orientation: [in, out], or [out, in] read through
/// transposed GEMMs. The loader asks <see cref="Orientation"/> first and takes <see cref="View"/>s only where it says so.
/// </summary>
internal interface IWeightViews
{
    /// <summary>
    /// How <paramref name="key"/>'s slices are viewed: false for [in, out], true for [out, in] (a slice of logical rows ×
    /// columns is then a view of columns × rows); null when they are copied into device memory as [in, out].
    /// </summary>
    bool? Orientation(WeightKey key);

    /// <summary>
    /// Rows [row0, +rows) × columns [col0, +cols) of <paramref name="key"/>'s logical [in, out] tensor as a view on
    /// <paramref name="device"/> in <see cref="Orientation"/>; for a device of another process a stand-in of that shape
    /// from <paramref name="memory"/>.
    /// </summary>
    MatrixView View(WeightKey key, Device device, int row0, int col0, int rows, int cols, DeviceAllocations memory);
}
