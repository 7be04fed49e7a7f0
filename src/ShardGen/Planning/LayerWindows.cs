using System;
using System.Collections.Generic;
using System.Linq;

namespace ShardGen.Planning;

/// <summary>
/// Each block's sliding window in a stack whose blocks differ only there (0: full attention), as Qwen2's
/// max_window_layers or a config's layer_types set them. A value: equal windows, equal lists.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
sealed class LayerWindows : IEquatable<LayerWindows>
{
    private readonly int[] _windows;

    public LayerWindows(IEnumerable<int> windows)
    {
        _windows = windows.ToArray();
        for (int i = 0; i < _windows.Length; i++)
            if (_windows[i] < 0)
                throw new ArgumentException($"Block {i}'s sliding window is {_windows[i]}; a window is 0 (full attention) or positive.", nameof(windows));
    }

    /// <summary>Blocks listed.</summary>
    public int Count => _windows.Length;

    /// <summary>Block <paramref name="block"/>'s window (0: full attention).</summary>
    public int this[int block] => _windows[block];

    public bool Equals(LayerWindows? other) => other is not null && _windows.SequenceEqual(other._windows);

    public override bool Equals(object? obj) => Equals(obj as LayerWindows);

    public override int GetHashCode() => _windows.Aggregate(17, (h, w) => h * 31 + w);

    public override string ToString() => $"[{string.Join(", ", _windows)}]";
}
