using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Runtime;

namespace ShardGen.Checkpoints;

/// <summary>
/// A checkpoint's weights for devices that compute on host memory (CPU devices, an MPI rank's own CPU device): every F32
/// matrix (embeddings, projections, the LM head) is viewed in place in a private mapping of its file
/// (<see cref="MappedFile"/>), in the file's orientation (LLaMA's [out, in], GPT-2's [in, out] with c_attn's column
/// ranges strided), so loading copies nothing. A region several devices of this process hold (a KV head replicated
/// under grouped-query attention, GPT-2's position table) is viewed by one and copied for the others, as training
/// updates every replica. Vectors, F16/BF16 tensors and tensors too large for one device buffer
/// are read as <see cref="CheckpointWeights"/> reads them. Holds one reference to each mapping until disposed (the
/// end of the load); the device buffers over a mapping hold the others.
/// </summary>
internal sealed unsafe class MappedWeights : IWeightSource, IStridedWeightSource, IWeightViews, IDisposable
{
    private readonly CheckpointWeights _weights;
    private readonly List<MappedFile> _files = new();
    private readonly Dictionary<WeightKey, (MappedFile File, TensorMapping Map, SafetensorsTensor Tensor)> _views = new();
    private readonly Dictionary<WeightKey, List<(int Row0, int Rows, int Col0, int Cols)>> _handedOut = new();

    private readonly bool _keepBFloat16;

    /// <summary>Maps <paramref name="weights"/>' files; <paramref name="keepBFloat16"/> views BF16 matrices in place too, as bfloat16 device buffers (read-only weights), instead of widening them into float32 copies.</summary>
    public MappedWeights(CheckpointWeights weights, bool keepBFloat16 = false)
    {
        _weights = weights;
        _keepBFloat16 = keepBFloat16;
        var mapped = new Dictionary<SafetensorsFile, MappedFile?>();
        try
        {
            foreach (var key in weights.Keys)
            {
                var (map, file, tensor) = weights.Stored(key);
                if (!Viewable(tensor, keepBFloat16)) continue;
                if (!mapped.TryGetValue(file, out var mapping))
                {
                    mapping = MappedFile.TryOpen(file.Path);
                    // A file replaced since its header was read keeps the copying path (its offsets are the old file's).
                    if (mapping is not null && mapping.Length != file.Length) { mapping.Release(); mapping = null; }
                    if (mapping is not null) _files.Add(mapping);
                    mapped[file] = mapping;
                }
                if (mapping is not null) _views.Add(key, (mapping, map, tensor));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public (int Rows, int Cols)? Shape(WeightKey key) => _weights.Shape(key);

    public string Name(WeightKey key) => _weights.Name(key);

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination) =>
        _weights.Read(key, row0, rows, col0, cols, destination);

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride) =>
        ((IStridedWeightSource)_weights).Read(key, row0, rows, col0, cols, destination, destinationStride);

    public bool? Orientation(WeightKey key) => _views.TryGetValue(key, out var v) ? v.Map.Transposed : null;

    public MatrixView View(WeightKey key, Device device, int row0, int col0, int rows, int cols, DeviceAllocations memory)
    {
        var (file, map, tensor) = _views[key];
        if (row0 < 0 || rows < 0 || col0 < 0 || cols < 0 || (long)row0 + rows > map.Rows || (long)col0 + cols > map.Cols)
            throw new ArgumentOutOfRangeException(nameof(row0), $"Slice rows [{row0}, +{rows}) × columns [{col0}, +{cols}) is outside {key} ('{map.Name}', [{map.Rows}, {map.Cols}]).");
        // Stored [out, in]: logical (r, c) is stored (c, r), so the slice is stored rows [col0, +cols) × columns [row0, +rows).
        int storedCols = (int)map.StoredShape[^1];
        var (viewRows, viewCols) = map.Transposed ? (cols, rows) : (rows, cols);
        long first = map.StoredIndex(row0, col0);
        if (!device.IsLocal || viewRows == 0 || viewCols == 0) return memory.Allocate(device, viewRows, viewCols);
        int elements = (viewRows - 1) * storedCols + viewCols;
        bool bf16 = tensor.DType == SafetensorsDType.BF16;
        int size = bf16 ? sizeof(ushort) : sizeof(float);
        long offset = tensor.FileOffset + first * size;
        // Only this device's elements: a strided view's rows one by one (an MPI rank maps only its own slices).
        if (viewCols == storedCols) Populate(file, offset, (long)elements * size);
        else for (int r = 0; r < viewRows; r++) file.Populate(offset + (long)r * storedCols * size, (long)viewCols * size);
        // BF16 weights are read-only (nothing trains them), so replicas share one view.
        if (bf16) return Adopt(file, device, map, memory, viewRows, viewCols, storedCols,
            (release, counted) => device.TryAdoptBFloat16((ushort*)(file.Data + offset), elements, counted, release));
        if (!HandOut(key, (int)(first / storedCols), viewRows, (int)(first % storedCols), viewCols))
        {
            // Another device of this process views these elements already (a replicated KV head, a position table):
            // a copy in the same orientation, so a training step does not update one page once per replica.
            var copy = memory.Allocate(device, viewRows, viewCols);
            device.Upload(new ReadOnlySpan<float>(file.Data + offset, elements), storedCols, copy);
            return copy;
        }
        return Adopt(file, device, map, memory, viewRows, viewCols, storedCols,
            (release, counted) => device.TryAdopt((float*)(file.Data + offset), elements, counted, release));
    }

    // A device buffer over the mapping (which it keeps alive), viewed as [viewRows, viewCols] with the tensor's stride.
    private static MatrixView Adopt(MappedFile file, Device device, TensorMapping map, DeviceAllocations memory, int viewRows, int viewCols,
        int storedCols, Func<Action, int, DeviceBuffer?> adopt)
    {
        file.Retain();
        DeviceBuffer? buffer;
        try { buffer = adopt(file.Release, viewRows * viewCols); }
        catch { file.Release(); throw; }
        if (buffer is null)
        {
            file.Release();
            throw new InvalidOperationException($"{device.Name} cannot use host memory in place, so '{map.Name}' cannot be viewed there: load with copying.");
        }
        return memory.Own(buffer, viewRows, viewCols, storedCols);
    }

    // A large region in pieces on the thread pool: mapping 2 GB of page-cache pages is page-table work for every core.
    private static void Populate(MappedFile file, long offset, long bytes)
    {
        const long Piece = 16 << 20;
        if (bytes <= Piece)
        {
            file.Populate(offset, bytes);
            return;
        }
        int pieces = (int)((bytes + Piece - 1) / Piece);
        Parallel.For(0, pieces, i => file.Populate(offset + i * Piece, Math.Min(Piece, bytes - i * Piece)));
    }

    // Records the stored rectangle for key; false when it overlaps one handed out before (views of a tensor share its stride).
    private bool HandOut(WeightKey key, int row0, int rows, int col0, int cols)
    {
        lock (_handedOut)
        {
            if (!_handedOut.TryGetValue(key, out var list)) _handedOut[key] = list = new();
            foreach (var (r, n, c, m) in list)
                if (row0 < r + n && r < row0 + rows && col0 < c + m && c < col0 + cols) return false;
            list.Add((row0, rows, col0, cols));
            return true;
        }
    }

    /// <summary>Drops the load's references: mappings no device buffer uses go now, the others with their last buffer.</summary>
    public void Dispose()
    {
        foreach (var file in _files) file.Release();
        _files.Clear();
    }

    // F32 (and, when kept, BF16) matrices whose every slice fits one device buffer, aligned for their element loads.
    private static bool Viewable(SafetensorsTensor tensor, bool keepBFloat16) =>
        (tensor.DType == SafetensorsDType.F32 && tensor.FileOffset % sizeof(float) == 0
            || keepBFloat16 && tensor.DType == SafetensorsDType.BF16 && tensor.FileOffset % sizeof(ushort) == 0)
        && tensor.Shape.Length == 2 && tensor.Shape[0] * tensor.Shape[1] <= int.MaxValue;
}
