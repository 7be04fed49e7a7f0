using System;
using System.Collections.Generic;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Linq;
using System.Text.Json;

namespace ShardGen.Checkpoints;

/// <summary>
/// One .safetensors file, memory-mapped read-only: an 8-byte little-endian header length, a JSON header (tensor →
/// dtype, shape, data_offsets into the data section), then the raw data. Opening parses and checks the whole header
/// against the file's length, reading no tensor data; <see cref="Read"/> converts a 2D slice of one tensor to float32,
/// touching only the bytes of that slice, so each device can read just its own shard. Safe to read from several
/// threads at once.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly Dictionary<string, SafetensorsTensor> _tensors;
    private int _disposed;

    private SafetensorsFile(string path, long length, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* start)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _base = start;
        try { _tensors = SafetensorsHeader.Parse(path, length, start); }
        catch { Dispose(); throw; }
    }

    /// <summary>Maps <paramref name="path"/> and checks its header; a <see cref="CheckpointException"/> names what is wrong.</summary>
    public static SafetensorsFile Open(string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Reading safetensors needs a little-endian CPU.");
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file.");
        long length;
        try { length = new FileInfo(path).Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CheckpointException($"{path}: cannot be read ({e.Message}).");
        }
        if (length < 8)
            throw new CheckpointException($"{path}: the file is {length} bytes, shorter than the 8-byte header length every safetensors file starts with: it is truncated or not a safetensors file; download it again.");

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* start = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
            return new SafetensorsFile(path, length, map, view, start + view.PointerOffset);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            view?.Dispose();
            map?.Dispose();
            throw new CheckpointException($"{path}: cannot be mapped ({e.Message}).");
        }
    }

    /// <summary>The file's path, for messages.</summary>
    public string Path { get; }

    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }

    /// <summary>Every tensor in the header, in file order.</summary>
    public IEnumerable<SafetensorsTensor> Tensors => _tensors.Values.OrderBy(t => t.FileOffset);

    public bool TryGetTensor(string name, out SafetensorsTensor tensor) => _tensors.TryGetValue(name, out tensor!);

    public SafetensorsTensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t : throw new CheckpointException($"{Path}: has no tensor '{name}'.");

    /// <summary>
    /// Reads rows [<paramref name="row0"/>, +<paramref name="rows"/>) × columns [<paramref name="col0"/>, +<paramref name="cols"/>)
    /// of <paramref name="tensor"/> seen as a matrix (1D as [1, n]) — of its transpose when <paramref name="transposed"/> —
    /// converted to float32 into <paramref name="destination"/> (row-major, rows × cols).
    /// </summary>
    public void Read(SafetensorsTensor tensor, int row0, int rows, int col0, int cols, bool transposed, Span<float> destination) =>
        ReadStrided(tensor, row0, rows, col0, cols, transposed, destination, cols);

    /// <summary>As the public overload, row r of the slice at destination[r · <paramref name="destinationStride"/>].</summary>
    internal void ReadStrided(SafetensorsTensor tensor, int row0, int rows, int col0, int cols, bool transposed, Span<float> destination, int destinationStride)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (!_tensors.TryGetValue(tensor.Name, out var own) || !ReferenceEquals(own, tensor))
            throw new ArgumentException($"Tensor '{tensor.Name}' is not from {Path}.", nameof(tensor));
        if (tensor.DType == SafetensorsDType.Other)
            throw new CheckpointException($"{Path}: tensor '{tensor.Name}' has dtype {tensor.DTypeName}; ShardGen reads F32, F16 and BF16: save the checkpoint in one of those (e.g. model.to(torch.bfloat16)).");
        var matrix = tensor.Matrix ?? throw new CheckpointException($"{Path}: tensor '{tensor.Name}' has shape {tensor.ShapeText}; ShardGen reads 1D and 2D tensors.");
        var (storedRows, storedCols) = matrix;
        var (logicalRows, logicalCols) = transposed ? (storedCols, storedRows) : (storedRows, storedCols);
        if (row0 < 0 || rows < 0 || col0 < 0 || cols < 0 || (long)row0 + rows > logicalRows || (long)col0 + cols > logicalCols)
            throw new ArgumentOutOfRangeException(nameof(row0), $"Slice rows [{row0}, +{rows}) × columns [{col0}, +{cols}) is outside '{tensor.Name}' [{logicalRows}, {logicalCols}]{(transposed ? " (transposed)" : "")}.");
        if (destinationStride < cols)
            throw new ArgumentOutOfRangeException(nameof(destinationStride), $"Destination rows {destinationStride} floats apart overlap the slice's {cols} columns.");
        long needed = rows == 0 ? 0 : (long)(rows - 1) * destinationStride + cols;
        if (destination.Length < needed)
            throw new ArgumentException($"Destination holds {destination.Length} floats; the slice needs {needed} ({rows} rows × {cols} columns, rows {destinationStride} apart).", nameof(destination));

        int size = SafetensorsDTypes.Size(tensor.DType);
        byte* data = _base + tensor.FileOffset;
        if (!transposed)
        {
            for (int r = 0; r < rows; r++)
                ElementConversion.ToFloat(tensor.DType, data + ((long)(row0 + r) * storedCols + col0) * size, destination.Slice(r * destinationStride, cols));
        }
        else
        {
            // Logical (r, c) is stored (c, r): stored rows [col0, +cols), each read over columns [row0, +rows).
            ElementConversion.ToFloatTransposed(tensor.DType, data + ((long)col0 * storedCols + row0) * size, (long)storedCols * size, cols, rows, destination, destinationStride);
        }
    }

    /// <summary>Reads a whole tensor as a [rows, cols] float32 matrix (tests and small tensors).</summary>
    public float[,] ReadMatrix(string name, bool transposed = false)
    {
        var tensor = this[name];
        var (r, c) = tensor.Matrix ?? throw new CheckpointException($"{Path}: tensor '{name}' has shape {tensor.ShapeText}; ShardGen reads 1D and 2D tensors.");
        if (transposed) (r, c) = (c, r);
        var result = new float[r, c];
        Read(tensor, 0, r, 0, c, transposed, Runtime.HostMatrix.Span(result));
        return result;
    }

    public void Dispose()
    {
        if (System.Threading.Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
