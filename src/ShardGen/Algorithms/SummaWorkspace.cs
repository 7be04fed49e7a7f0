using System;
using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Algorithms;

/// <summary>
/// Per-call panel buffers of one SUMMA multiply: one A panel, one B panel and one partial-product buffer per
/// device, each allocated once at its largest size and re-viewed per step (the device queues order the reuse).
/// Dispose waits for the devices, then frees them.
/// </summary>
internal sealed class SummaWorkspace : IDisposable
{
    private readonly DeviceGrid _grid;
    private readonly Dictionary<(int Rank, int Kind), DeviceBuffer> _buffers = new();

    public SummaWorkspace(DeviceGrid grid) => _grid = grid;

    public MatrixView PanelA(int rank, int rows, int cols) => View(rank, 0, rows, cols);

    public MatrixView PanelB(int rank, int rows, int cols) => View(rank, 1, rows, cols);

    public MatrixView Partial(int rank, int rows, int cols) => View(rank, 2, rows, cols);

    private MatrixView View(int rank, int kind, int rows, int cols)
    {
        int needed = rows * cols;
        if (!_buffers.TryGetValue((rank, kind), out var buffer))
        {
            // Block sizes differ by at most one row/column, so the first request is rounded up to the largest.
            int q = _grid.Q;
            int size = q == 1 ? needed : (rows + 1) * (cols + 1);
            buffer = _grid.Mesh.Devices[rank].Allocate(Math.Max(size, 1));
            _buffers[(rank, kind)] = buffer;
        }
        else if (buffer.Length < needed)
        {
            throw new InvalidOperationException($"SUMMA workspace of rank {rank} is too small ({buffer.Length} < {needed}).");
        }
        return new MatrixView(buffer, 0, rows, cols, cols);
    }

    public void Dispose()
    {
        try
        {
            foreach (var d in _grid.Mesh.Devices) d.Synchronize();
        }
        finally
        {
            foreach (var b in _buffers.Values) b.Dispose();
        }
    }
}
