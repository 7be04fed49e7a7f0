using System;

namespace ShardGen.Devices;

// Enqueue-time checks of the language-model kernels (lookup, rotary, gated activation, cached attention): same
// rules and words on every backend, thrown in the caller's stack before anything is queued.
public abstract partial class Device
{
    /// <summary>The rules of <see cref="Gather"/>'s arguments, for every backend.</summary>
    protected internal void CheckGather(int[] ids, int firstRow, MatrixView table, MatrixView output)
    {
        ArgumentNullException.ThrowIfNull(ids);
        CheckView(table, nameof(table), acceptsBFloat16: AdoptsHostMemory);
        CheckView(output, nameof(output));
        if (firstRow < 0)
            throw new ArgumentOutOfRangeException(nameof(firstRow), firstRow, $"Gather on {Name}: the table's first row must be ≥ 0.");
        if (output.Rows != ids.Length || output.Cols != table.Cols)
            throw new ArgumentException($"Gather on {Name}: output must be {ids.Length}×{table.Cols} ({ids.Length} ids, rows of {table.Cols}) but is {output.Rows}×{output.Cols}.", nameof(output));
        for (int t = 0; t < ids.Length; t++)
            if (ids[t] < 0)
                throw new ArgumentOutOfRangeException(nameof(ids), ids[t], $"Gather on {Name}: id {t} is {ids[t]}; token ids are ≥ 0.");
        if (Overlaps(table, output))
            throw new ArgumentException($"Gather on {Name}: output must not overlap the table.", nameof(output));
    }

    /// <summary>The rules of <see cref="Rotary"/>'s arguments, for every backend.</summary>
    protected internal void CheckRotary(MatrixView x, int heads, int headDim, int[] positions, float theta)
    {
        ArgumentNullException.ThrowIfNull(positions);
        CheckView(x, nameof(x));
        if (heads <= 0)
            throw new ArgumentOutOfRangeException(nameof(heads), heads, $"Rotary on {Name}: heads must be > 0.");
        if (headDim <= 0 || headDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, $"Rotary on {Name}: the head dimension must be even and > 0 (it rotates pairs (i, i + d/2)).");
        if ((long)heads * headDim > x.Cols)
            throw new ArgumentException($"Rotary on {Name}: {heads} heads × {headDim} = {(long)heads * headDim} columns, but x is {x.Rows}×{x.Cols}.", nameof(x));
        if (positions.Length != x.Rows)
            throw new ArgumentException($"Rotary on {Name}: {positions.Length} positions for the {x.Rows} rows of x; give one position per row.", nameof(positions));
        for (int t = 0; t < positions.Length; t++)
            if (positions[t] < 0)
                throw new ArgumentOutOfRangeException(nameof(positions), positions[t], $"Rotary on {Name}: position {t} is {positions[t]}; positions are ≥ 0.");
        if (!(theta > 0f) || float.IsInfinity(theta))
            throw new ArgumentOutOfRangeException(nameof(theta), theta, $"Rotary on {Name}: θ (rope_theta) must be finite and > 0.");
    }

    /// <summary>The rules of <see cref="GatedActivation"/>'s arguments, for every backend.</summary>
    protected internal void CheckGatedActivation(MatrixView gateUp, MatrixView output, Activation activation)
    {
        CheckView(gateUp, nameof(gateUp));
        CheckView(output, nameof(output));
        CheckActivation(activation);
        if (gateUp.Cols % 2 != 0)
            throw new ArgumentException($"GatedActivation on {Name}: gateUp is {gateUp.Rows}×{gateUp.Cols}; it must be [T, 2n] = [gate | up], an even width.", nameof(gateUp));
        if (output.Rows != gateUp.Rows || output.Cols != gateUp.Cols / 2)
            throw new ArgumentException($"GatedActivation on {Name}: output must be {gateUp.Rows}×{gateUp.Cols / 2} (half of gateUp {gateUp.Rows}×{gateUp.Cols}) but is {output.Rows}×{output.Cols}.", nameof(output));
        if (Overlaps(gateUp, output))
            throw new ArgumentException($"GatedActivation on {Name}: output must not overlap gateUp.", nameof(output));
    }

    /// <summary>The rules of the cached <see cref="Attention(MatrixView, MatrixView, AttentionShape, MatrixView, MatrixView, int)"/>'s arguments, for every backend.</summary>
    protected internal void CheckCachedAttention(MatrixView qkv, MatrixView output, AttentionShape shape,
        MatrixView keyCache, MatrixView valueCache, int cachedTokens)
    {
        CheckAttention(qkv, output, shape);
        if (!shape.Causal || shape.SequenceStarts.Length != 2)
            throw new ArgumentException($"{What(shape)}: attention with a KV cache takes one causal sequence (SequenceStarts [0, T], Causal = true); it has {shape.SequenceStarts.Length - 1} sequences, Causal = {shape.Causal}.", nameof(shape));
        CheckView(keyCache, nameof(keyCache));
        CheckView(valueCache, nameof(valueCache));
        int width = shape.KvHeads * shape.HeadDim;
        if (keyCache.Cols != width || valueCache.Cols != width || valueCache.Rows != keyCache.Rows)
            throw new ArgumentException($"{What(shape)}: the key and value caches must both be [maxTokens, {width}] ({shape.KvHeads} kv heads × {shape.HeadDim}) but are {keyCache.Rows}×{keyCache.Cols} and {valueCache.Rows}×{valueCache.Cols}.", nameof(keyCache));
        if (cachedTokens < 0)
            throw new ArgumentOutOfRangeException(nameof(cachedTokens), cachedTokens, $"{What(shape)}: cachedTokens must be ≥ 0.");
        if ((long)cachedTokens + shape.Tokens > keyCache.Rows)
            throw new ArgumentException($"{What(shape)}: the KV cache is full: it holds {keyCache.Rows} tokens, {cachedTokens} are cached and {shape.Tokens} more do not fit; create a larger cache.", nameof(cachedTokens));
        if (Overlaps(keyCache, valueCache))
            throw new ArgumentException($"{What(shape)}: the key and value caches must not overlap.", nameof(valueCache));
        if (Overlaps(keyCache, qkv) || Overlaps(keyCache, output) || Overlaps(valueCache, qkv) || Overlaps(valueCache, output))
            throw new ArgumentException($"{What(shape)}: the caches must not overlap qkv or output.", nameof(keyCache));
    }
}
