using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Training;

namespace ShardGen.Runtime;

/// <summary>
/// An <see cref="IWeightSource"/> that passes reads through and remembers where each slice landed: which device view
/// holds which region of which logical tensor (<see cref="WeightReader.Read"/> reports each read). Devices upload in
/// parallel, so slices are kept per rank, each rank's in its own (deterministic) read order.
/// </summary>
internal sealed class SliceRecorder : IWeightSource, IStridedWeightSource, IWeightViews
{
    private readonly IWeightSource _inner;
    private readonly Dictionary<int, List<ParameterSlice>> _byRank = new();

    public SliceRecorder(IWeightSource inner) => _inner = inner ?? throw new ArgumentNullException(nameof(inner));

    public (int Rows, int Cols)? Shape(WeightKey key) => _inner.Shape(key);

    public string Name(WeightKey key) => _inner.Name(key);

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination) =>
        _inner.Read(key, row0, rows, col0, cols, destination);

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride) =>
        StridedReads.Read(_inner, key, row0, rows, col0, cols, destination, destinationStride);

    public bool? Orientation(WeightKey key) => (_inner as IWeightViews)?.Orientation(key);

    public MatrixView View(WeightKey key, Device device, int row0, int col0, int rows, int cols, DeviceAllocations memory) =>
        ((IWeightViews)_inner).View(key, device, row0, col0, rows, cols, memory);

    /// <summary>
    /// Called by <see cref="WeightReader.Read"/> and <see cref="WeightReader.View"/> for every local, non-empty slice
    /// (<paramref name="transposed"/>: the view holds the region's columns × rows).
    /// </summary>
    public void Record(WeightKey key, int row0, int col0, MatrixView view, bool transposed)
    {
        int rank = view.Device.Rank;
        lock (_byRank)
        {
            if (!_byRank.TryGetValue(rank, out var list)) _byRank[rank] = list = new List<ParameterSlice>();
            list.Add(new ParameterSlice(key, rank, row0, col0, view) { Transposed = transposed });
        }
    }

    /// <summary>Every recorded slice, rank by rank, each rank's in read order.</summary>
    public IReadOnlyList<ParameterSlice> Slices
    {
        get
        {
            lock (_byRank) return _byRank.OrderBy(p => p.Key).SelectMany(p => p.Value).ToArray();
        }
    }
}

/// <summary>
/// Zeros for every slice: what gradient twins of a model are loaded from (the plan gives every size; no shapes are asked).
/// The tensors the model views in place as [out, in] (<see cref="ParameterSlice.Transposed"/>) are fresh zeros in that orientation
/// too, so every gradient slice has its parameter's shape.
/// </summary>
internal sealed class ZeroWeights : IWeightSource, IStridedWeightSource, IWeightViews
{
    private readonly HashSet<WeightKey> _transposed;

    private ZeroWeights(HashSet<WeightKey> transposed) => _transposed = transposed;

    public static ZeroWeights Instance { get; } = new(new HashSet<WeightKey>());

    /// <summary>Zeros shaped like <paramref name="parameters"/>: [out, in] where they are.</summary>
    public static ZeroWeights Like(IEnumerable<ParameterSlice> parameters) =>
        new(parameters.Where(p => p.Transposed).Select(p => p.Key).ToHashSet());

    public bool? Orientation(WeightKey key) => _transposed.Contains(key) ? true : null;

    // Device memory is zero-filled.
    public MatrixView View(WeightKey key, Device device, int row0, int col0, int rows, int cols, DeviceAllocations memory) =>
        memory.Allocate(device, cols, rows);

    public (int Rows, int Cols)? Shape(WeightKey key) => null;

    public string Name(WeightKey key) => key.ToString();

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination) => destination[..(rows * cols)].Clear();

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride)
    {
        for (int r = 0; r < rows; r++) destination.Slice(r * destinationStride, cols).Clear();
    }
}
