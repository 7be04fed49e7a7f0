using System;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using ShardGen.Devices;

namespace ShardGen.Runtime;

/// <summary>
/// Reads slices of logical tensors from an <see cref="IWeightSource"/> into device views. A device whose memory is host
/// memory (<see cref="Device.TryHostView"/>) is read into in place, blocks of rows in parallel (converting and first
/// touching 2 GB of fresh memory is work for every core); other devices get a bounded block of rows at a time through a
/// host block and <see cref="Device.Upload"/>, so a layer's upload holds at most one block of one slice in host memory.
/// A device that is not local (another MPI rank's) reads nothing: its own process reads its slice. Where the source lets
/// devices use its memory in place (<see cref="IWeightViews"/>: a checkpoint's F32 tensors on CPU devices), <see cref="View"/>
/// gives views of it instead of copies.
/// </summary>
internal static unsafe class WeightReader
{
    /// <summary>Floats read per block: 4 MiB.</summary>
    private const int BlockFloats = 1 << 20;

    /// <summary>Rows of a parallel block are a multiple of this: whole tiles of the checkpoint reader's transposes.</summary>
    private const int RowMultiple = 64;

    /// <summary>Rows [row0, +view.Rows) × columns [col0, +view.Cols) of <paramref name="key"/> into <paramref name="view"/>.</summary>
    public static void Read(IWeightSource source, WeightKey key, int row0, int col0, MatrixView view)
    {
        var device = view.Device;
        if (!device.IsLocal || view.Rows == 0 || view.Cols == 0) return;
        (source as SliceRecorder)?.Record(key, row0, col0, view, transposed: false);
        if (device.TryHostView(view, out var elements))
        {
            fixed (float* start = elements) ReadIntoHost(source, key, row0, col0, view, start);
            GC.KeepAlive(view.Buffer);
            return;
        }
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

    // Blocks of whole tiles, each read straight into its rows of the view (stride apart) by whichever thread takes it.
    private static void ReadIntoHost(IWeightSource source, WeightKey key, int row0, int col0, MatrixView view, float* start)
    {
        int rows = view.Rows, cols = view.Cols, stride = view.Stride;
        int rowsPerBlock = Math.Max(RowMultiple, BlockFloats / cols / RowMultiple * RowMultiple);
        int blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
        if (blocks == 1)
        {
            StridedReads.Read(source, key, row0, rows, col0, cols, Rows(start, 0, rows, cols, stride), stride);
            return;
        }
        nint at = (nint)start;
        try
        {
            Parallel.For(0, blocks, b =>
            {
                int r = b * rowsPerBlock, n = Math.Min(rowsPerBlock, rows - r);
                StridedReads.Read(source, key, row0 + r, n, col0, cols, Rows((float*)at, r, n, cols, stride), stride);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    private static Span<float> Rows(float* start, int row, int rows, int cols, int stride) =>
        new(start + (long)row * stride, (rows - 1) * stride + cols);

    /// <summary>A new [rows, cols] buffer of <paramref name="memory"/> filled from <paramref name="key"/> at (row0, col0).</summary>
    public static MatrixView Upload(DeviceAllocations memory, Device device, IWeightSource source, WeightKey key, int row0, int col0, int rows, int cols)
    {
        var view = memory.Allocate(device, rows, cols);
        Read(source, key, row0, col0, view);
        return view;
    }

    /// <summary>
    /// How <paramref name="key"/>'s slices are held when <paramref name="source"/> lets devices view them in place
    /// (<see cref="IWeightViews.Orientation"/>: true for [out, in]); null when they are copied as [in, out].
    /// </summary>
    public static bool? InPlace(IWeightSource source, WeightKey key) => (source as IWeightViews)?.Orientation(key);

    /// <summary>
    /// The slice viewed in place (only where <see cref="InPlace"/> says so), recorded like a read: [rows, cols], or
    /// [cols, rows] for an [out, in] tensor.
    /// </summary>
    public static MatrixView View(DeviceAllocations memory, Device device, IWeightSource source, WeightKey key, int row0, int col0, int rows, int cols)
    {
        var views = (IWeightViews)source;
        bool transposed = views.Orientation(key) ?? throw new InvalidOperationException($"{key} is copied, not viewed in place.");
        var view = views.View(key, device, row0, col0, rows, cols, memory);
        if (device.IsLocal && rows > 0 && cols > 0) (source as SliceRecorder)?.Record(key, row0, col0, view, transposed);
        return view;
    }

    /// <summary>A projection's weight slice: viewed in place where the source allows, else copied as [in, out].</summary>
    public static ProjectionWeight Projection(DeviceAllocations memory, Device device, IWeightSource source, WeightKey key, int row0, int col0, int rows, int cols) =>
        InPlace(source, key) is bool transposed
            ? new ProjectionWeight(transposed, View(memory, device, source, key, row0, col0, rows, cols))
            : new ProjectionWeight(Upload(memory, device, source, key, row0, col0, rows, cols));

    /// <summary>A vector [1, n] slice, or null when <paramref name="present"/> is false (a layer without that bias).</summary>
    public static MatrixView? Vector(DeviceAllocations memory, Device device, IWeightSource source, WeightKey key, bool present, int col0, int cols) =>
        present ? Upload(memory, device, source, key, 0, col0, 1, cols) : null;
}
