using System;
using ShardGen.Devices;

namespace ShardGen.Algorithms;

/// <summary>A device buffer of at least <paramref name="length"/> floats on device <paramref name="rank"/>, with stale contents.</summary>
internal delegate DeviceBuffer PanelSource(int rank, int length);

/// <summary>
/// The scratch of SUMMA multiplies: one A panel, one B panel and one partial-product buffer per device, each
/// taken once per multiply at its largest size and re-viewed per step (the device queues order the reuse), plus
/// the argument arrays of the collectives. On its own it allocates the panels, and Dispose waits for the devices,
/// then frees them. Given a <see cref="PanelSource"/> it borrows them instead (a forward pass's pool), and the
/// lender frees them; such a workspace serves any number of multiplies.
/// </summary>
internal sealed class SummaWorkspace : IDisposable
{
    private const int Kinds = 3; // A panel, B panel, partial product

    private readonly DeviceGrid _grid;
    private readonly PanelSource? _borrow;
    private readonly DeviceBuffer?[] _buffers;

    public SummaWorkspace(DeviceGrid grid, PanelSource? borrow = null)
    {
        _grid = grid;
        _borrow = borrow;
        int size = grid.Mesh.Size;
        _buffers = new DeviceBuffer?[size * Kinds];
        Members = new MatrixView[grid.Q];
        PanelsA = new MatrixView[size];
        PanelsB = new MatrixView[size];
    }

    /// <summary>
    /// One collective's views, indexed by group member; refilled whole before each call. Reusing it is safe:
    /// collectives copy their argument lists before they return.
    /// </summary>
    public MatrixView[] Members { get; }

    /// <summary>Each rank's A operand of the current step, indexed by rank.</summary>
    public MatrixView[] PanelsA { get; }

    /// <summary>Each rank's B operand of the current step, indexed by rank.</summary>
    public MatrixView[] PanelsB { get; }

    /// <summary>
    /// Starts a multiply. Borrowed panels stay with their lender after a multiply, so the next one takes its own:
    /// this also lets one workspace serve layers of different shapes.
    /// </summary>
    public void Begin()
    {
        if (_borrow is not null) Array.Clear(_buffers);
    }

    public MatrixView PanelA(int rank, int rows, int cols) => View(rank, 0, rows, cols);

    public MatrixView PanelB(int rank, int rows, int cols) => View(rank, 1, rows, cols);

    public MatrixView Partial(int rank, int rows, int cols) => View(rank, 2, rows, cols);

    private MatrixView View(int rank, int kind, int rows, int cols)
    {
        int needed = rows * cols;
        ref var buffer = ref _buffers[rank * Kinds + kind];
        if (buffer is null)
        {
            // Block sizes differ by at most one row/column, so the first request is rounded up to the largest.
            int size = _grid.Q == 1 ? needed : (rows + 1) * (cols + 1);
            buffer = Take(rank, Math.Max(size, 1));
        }
        else if (buffer.Length < needed)
        {
            throw new InvalidOperationException($"SUMMA workspace of rank {rank} is too small ({buffer.Length} < {needed}).");
        }
        return new MatrixView(buffer, 0, rows, cols, cols);
    }

    private DeviceBuffer Take(int rank, int length) =>
        _borrow is null ? _grid.Mesh.Devices[rank].Allocate(length) : _borrow(rank, length);

    public void Dispose()
    {
        if (_borrow is not null) return; // borrowed panels are the lender's to free
        try
        {
            _grid.Mesh.Synchronize();
        }
        finally
        {
            foreach (var b in _buffers) b?.Dispose();
        }
    }
}
