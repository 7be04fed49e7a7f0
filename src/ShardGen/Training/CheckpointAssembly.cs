using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Checkpoints;

namespace ShardGen.Training;

/// <summary>
/// The tensors of a checkpoint being saved, in name-table order (c_attn's three column ranges are one tensor), filled
/// slice by slice from the devices' regions: each element placed where the file stores it, and checked to be covered.
/// </summary>
internal sealed class CheckpointAssembly
{
    private readonly string _model;
    private readonly List<NamedTensor> _tensors = new();
    private readonly Dictionary<string, bool[]> _covered = new(StringComparer.Ordinal);
    private readonly Dictionary<WeightKey, (TensorMapping Map, NamedTensor Tensor)> _byKey = new();

    public CheckpointAssembly(string model, List<TensorMapping> maps)
    {
        _model = model;
        foreach (var map in maps)
        {
            if (_tensors.Count == 0 || _tensors[^1].Name != map.Name)
            {
                long elements = map.StoredShape.Aggregate(1L, (a, b) => a * b);
                _tensors.Add(new NamedTensor(map.Name, map.StoredShape, new float[elements]));
                _covered[map.Name] = new bool[elements];
            }
            _byKey[map.Key] = (map, _tensors[^1]);
        }
    }

    /// <summary>Places rows [row0, +rows) × columns [col0, +cols) of <paramref name="key"/> (logical layout), row-major in <paramref name="data"/>.</summary>
    public void Place(WeightKey key, int row0, int col0, int rows, int cols, ReadOnlySpan<float> data)
    {
        if (!_byKey.TryGetValue(key, out var target))
            throw new InvalidOperationException($"Model '{_model}': parameter {key} has no Hugging Face name; it cannot be saved.");
        var (map, tensor) = target;
        var mask = _covered[map.Name];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                long at = map.StoredIndex(row0 + r, col0 + c);
                tensor.Data[at] = data[r * cols + c];
                mask[at] = true;
            }
    }

    /// <summary>The filled tensors; throws if an element is on no device's slice (the checkpoint would be incomplete).</summary>
    public List<NamedTensor> Tensors()
    {
        foreach (var (name, mask) in _covered)
            if (Array.IndexOf(mask, false) is int missing and >= 0)
                throw new InvalidOperationException($"Model '{_model}': element {missing} of '{name}' is on no device's slice; the checkpoint would be incomplete.");
        return _tensors;
    }
}
