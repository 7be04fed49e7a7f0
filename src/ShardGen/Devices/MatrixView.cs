using System;

namespace ShardGen.Devices;

/// <summary>
/// A row-major matrix inside a <see cref="DeviceBuffer"/>: element (r, c) lives at
/// <c>Offset + r·Stride + c</c>. Views are how kernels and collectives address shards without copying.
/// </summary>
public readonly record struct MatrixView(DeviceBuffer Buffer, int Offset, int Rows, int Cols, int Stride)
{
    public Device Device => Buffer.Device;

    public int Elements => Rows * Cols;

    /// <summary>True when the rows follow each other with no gap (Stride == Cols).</summary>
    public bool IsContiguous => Stride == Cols || Rows <= 1;

    /// <summary>The sub-matrix of <paramref name="rows"/> × <paramref name="cols"/> starting at (row, col).</summary>
    public MatrixView Slice(int row, int col, int rows, int cols)
    {
        if (row < 0 || col < 0 || rows < 0 || cols < 0 || row + rows > Rows || col + cols > Cols)
            throw new ArgumentOutOfRangeException(nameof(row),
                $"Slice [{row}+{rows}, {col}+{cols}] is outside the {Rows}×{Cols} view.");
        return new MatrixView(Buffer, Offset + row * Stride + col, rows, cols, Stride);
    }

    public MatrixView Columns(int col, int cols) => Slice(0, col, Rows, cols);

    public MatrixView RowsOf(int row, int rows) => Slice(row, 0, rows, Cols);

    public override string ToString() => $"[{Rows}×{Cols}] on device {Buffer.Device.Rank}";
}
