using System;

namespace ShardGen.Devices;

/// <summary>
/// The local attention problem of one device. The fused input holds, per token, <see cref="QueryHeads"/>
/// query heads, then <see cref="KvHeads"/> key heads, then <see cref="KvHeads"/> value heads, each
/// <see cref="HeadDim"/> wide. Query head h reads key/value head h / (QueryHeads / KvHeads).
/// Tokens attend only inside their sequence: sequence s is tokens [SequenceStarts[s], SequenceStarts[s+1]).
/// A causal shape with a <see cref="Window"/> W &gt; 0 is Mistral's sliding window: the query at position i (inside its
/// sequence, counting cached tokens) sees keys j with i − W &lt; j ≤ i.
/// </summary>
public sealed record AttentionShape(int QueryHeads, int KvHeads, int HeadDim, bool Causal, int[] SequenceStarts)
{
    /// <summary>Width of the fused q|k|v input.</summary>
    public int FusedWidth => (QueryHeads + 2 * KvHeads) * HeadDim;

    /// <summary>Width of the output: the query heads' context vectors.</summary>
    public int OutputWidth => QueryHeads * HeadDim;

    public int Tokens => SequenceStarts[^1];

    /// <summary>
    /// Sliding window W: each query sees its own key and the W − 1 before it (0: the whole causal prefix). Hugging
    /// Face's convention, transformers/masking_utils.py <c>sliding_window_overlay</c>: <c>kv_idx &gt; q_idx − sliding_window</c>,
    /// and-ed with the causal <c>kv_idx &lt;= q_idx</c>.
    /// </summary>
    public int Window { get; init; }

    /// <summary>The first key position the query at <paramref name="position"/> sees (0 without a window).</summary>
    public int FirstKey(int position) => Window > 0 ? Math.Max(0, position - Window + 1) : 0;

    /// <summary>Throws when the shape is inconsistent.</summary>
    public void Validate()
    {
        if (QueryHeads <= 0 || KvHeads <= 0 || HeadDim <= 0 || QueryHeads % KvHeads != 0)
            throw new ArgumentException($"Attention needs positive heads with QueryHeads ({QueryHeads}) a multiple of KvHeads ({KvHeads}) and HeadDim > 0 ({HeadDim}).");
        if (SequenceStarts is null || SequenceStarts.Length < 2 || SequenceStarts[0] != 0)
            throw new ArgumentException("SequenceStarts must start at 0 and hold at least one sequence.");
        for (int s = 1; s < SequenceStarts.Length; s++)
            if (SequenceStarts[s] <= SequenceStarts[s - 1])
                throw new ArgumentException($"Sequence {s - 1} is empty or SequenceStarts is not increasing.");
        if (Window < 0 || Window > 0 && !Causal)
            throw new ArgumentException($"Attention's sliding Window ({Window}) must be 0 (none) or positive on a causal shape (Causal = {Causal}).");
    }
}
