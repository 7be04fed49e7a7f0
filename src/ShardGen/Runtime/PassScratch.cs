using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Runtime;

/// <summary>
/// The managed objects a pass needs per step (tensors, argument arrays for the collectives, attention shapes),
/// handed out in call order and kept for the next pass. A generated Forward makes the same calls every time, so
/// from the second pass on every request is served from the previous pass's objects and nothing is allocated.
/// </summary>
internal sealed class PassScratch
{
    private readonly int _devices;
    private readonly List<ShardedTensor> _tensors = new();
    private readonly List<MatrixView[]> _views = new();
    private readonly List<MatrixView[][]> _lists = new();
    private readonly List<AttentionShape> _shapes = new();
    private readonly List<int[]> _ranks = new();
    private int _tensor, _view, _list, _shape, _rank;

    public PassScratch(int devices) => _devices = devices;

    /// <summary>Starts handing out from the first object again.</summary>
    public void Rewind() => _tensor = _view = _list = _shape = _rank = 0;

    public ShardedTensor Tensor()
    {
        if (_tensor == _tensors.Count) _tensors.Add(new ShardedTensor(_devices));
        return _tensors[_tensor++];
    }

    /// <summary>An array of <paramref name="length"/> views, to be filled by the caller.</summary>
    public MatrixView[] Views(int length)
    {
        if (_view == _views.Count) _views.Add(new MatrixView[length]);
        else if (_views[_view].Length != length) _views[_view] = new MatrixView[length];
        return _views[_view++];
    }

    /// <summary>
    /// views[j][i] for a collective over <paramref name="length"/> members: an array of rows that are themselves
    /// scratch view arrays, to be filled by the caller.
    /// </summary>
    public MatrixView[][] Rows(int length)
    {
        if (_list == _lists.Count) _lists.Add(new MatrixView[length][]);
        else if (_lists[_list].Length != length) _lists[_list] = new MatrixView[length][];
        var rows = _lists[_list++];
        for (int j = 0; j < length; j++) rows[j] = Views(length);
        return rows;
    }

    /// <summary>An array of <paramref name="length"/> integers, cleared (cursors over per-rank lists).</summary>
    public int[] Ranks(int length)
    {
        if (_rank == _ranks.Count) _ranks.Add(new int[length]);
        else if (_ranks[_rank].Length != length) _ranks[_rank] = new int[length];
        var ranks = _ranks[_rank++];
        System.Array.Clear(ranks);
        return ranks;
    }

    /// <summary>The attention problem of one device's heads over <paramref name="sequenceStarts"/> (sliding window 0: none).</summary>
    public AttentionShape Attention(int queryHeads, int kvHeads, int headDim, bool causal, int[] sequenceStarts, int window = 0)
    {
        if (_shape == _shapes.Count) _shapes.Add(null!);
        var shape = _shapes[_shape];
        if (shape is null || shape.QueryHeads != queryHeads || shape.KvHeads != kvHeads || shape.HeadDim != headDim ||
            shape.Causal != causal || shape.Window != window || !ReferenceEquals(shape.SequenceStarts, sequenceStarts))
            _shapes[_shape] = shape = new AttentionShape(queryHeads, kvHeads, headDim, causal, sequenceStarts) { Window = window };
        _shape++;
        return shape;
    }
}
