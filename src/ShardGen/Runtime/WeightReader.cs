using System;
using ShardGen.Devices;

namespace ShardGen.Runtime;

/// <summary>
/// Reads slices of logical tensors from an <see cref="IWeightSource"/> into device views, a bounded block of rows at a
/// time, so a layer's upload holds at most one block of one slice in host memory. A device that is not local (another
/// MPI rank's) reads nothing: its own process reads its slice.
/// </summary>
internal static class WeightReader
{
    /// <summary>Floats read per block: 4 MiB of host memory.</summary>
    private const int BlockFloats = 1 << 20;

    /// <summary>Rows [row0, +view.Rows) × columns [col0, +view.Cols) of <paramref name="key"/> into <paramref name="view"/>.</summary>
    public static void Read(IWeightSource source, WeightKey key, int row0, int col0, MatrixView view)
    {
        var device = view.Device;
        if (!device.IsLocal || view.Rows == 0 || view.Cols == 0) return;
        (source as SliceRecorder)?.Record(key, row0, col0, view);
        int cols = view.Cols, rowsPerBlock = Math.Max(1, Math.Min(view.Rows, BlockFloats / cols));
        var host = new float[rowsPerBlock * cols];
        for (int r = 0; r < view.Rows; r += rowsPerBlock)
        {
            int rows = Math.Min(rowsPerBlock, view.Rows - r);
            var block = host.AsSpan(0, rows * cols);
            source.Read(key, row0 + r, rows, col0, cols, block);
            device.Upload(block, cols, view.RowsOf(r, rows));
        }
    }

    /// <summary>A new [rows, cols] buffer of <paramref name="memory"/> filled from <paramref name="key"/> at (row0, col0).</summary>
    public static MatrixView Upload(DeviceAllocations memory, Device device, IWeightSource source, WeightKey key, int row0, int col0, int rows, int cols)
    {
        var view = memory.Allocate(device, rows, cols);
        Read(source, key, row0, col0, view);
        return view;
    }

    /// <summary>A vector [1, n] slice, or null when <paramref name="present"/> is false (a layer without that bias).</summary>
    public static MatrixView? Vector(DeviceAllocations memory, Device device, IWeightSource source, WeightKey key, bool present, int col0, int cols) =>
        present ? Upload(memory, device, source, key, 0, col0, 1, cols) : null;
}
