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
internal sealed class SliceRecorder : IWeightSource, IStridedWeightSource
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

    /// <summary>Called by <see cref="WeightReader.Read"/> for every local, non-empty slice it fills.</summary>
    public void Record(WeightKey key, int row0, int col0, MatrixView view)
    {
        int rank = view.Device.Rank;
        lock (_byRank)
        {
            if (!_byRank.TryGetValue(rank, out var list)) _byRank[rank] = list = new List<ParameterSlice>();
            list.Add(new ParameterSlice(key, rank, row0, col0, view));
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

/// <summary>Zeros for every slice: what gradient twins of a model are loaded from (the plan gives every size; no shapes are asked).</summary>
internal sealed class ZeroWeights : IWeightSource, IStridedWeightSource
{
    public static ZeroWeights Instance { get; } = new();

    public (int Rows, int Cols)? Shape(WeightKey key) => null;

    public string Name(WeightKey key) => key.ToString();

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination) => destination[..(rows * cols)].Clear();

    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination, int destinationStride)
    {
        for (int r = 0; r < rows; r++) destination.Slice(r * destinationStride, cols).Clear();
    }
}
