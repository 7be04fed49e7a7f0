using System;
using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Runtime;

/// <summary>
/// Device buffers owned together (a layer's shards, say), freed together. Uploads copy a host sub-matrix
/// straight into a new buffer with the host array's row stride, so no host-side slice is ever made.
/// </summary>
internal sealed class DeviceAllocations : IDisposable
{
    private readonly List<DeviceBuffer> _buffers = new();

    public MatrixView Allocate(Device device, int rows, int cols)
    {
        var buffer = device.Allocate(rows * cols);
        // A model's devices may upload their shards in parallel (DeviceUploads).
        lock (_buffers) _buffers.Add(buffer);
        return buffer.AsMatrix(rows, cols);
    }

    /// <summary>Owns <paramref name="buffer"/> (memory a device adopted) and views it as [rows, cols], rows <paramref name="stride"/> apart.</summary>
    public MatrixView Own(DeviceBuffer buffer, int rows, int cols, int stride)
    {
        lock (_buffers) _buffers.Add(buffer);
        return new MatrixView(buffer, 0, rows, cols, stride);
    }

    /// <summary>Uploads rows × cols of <paramref name="source"/> starting at (row, col).</summary>
    public MatrixView Upload(Device device, float[,] source, int row, int col, int rows, int cols)
    {
        var view = Allocate(device, rows, cols);
        device.Upload(HostMatrix.From(source, row, col), source.GetLength(1), view);
        return view;
    }

    /// <summary>Uploads values[start .. start+length) as a 1×length view; a null vector (no bias, say) gives null.</summary>
    public MatrixView? Upload(Device device, float[]? values, int start, int length)
    {
        if (values is null) return null;
        var view = Allocate(device, 1, length);
        device.Upload(values.AsSpan(start, length), length, view);
        return view;
    }

    /// <summary>Uploads a whole vector; null gives null.</summary>
    public MatrixView? Upload(Device device, float[]? values) => Upload(device, values, 0, values?.Length ?? 0);

    public void Dispose()
    {
        foreach (var b in _buffers) b.Dispose();
        _buffers.Clear();
    }
}
