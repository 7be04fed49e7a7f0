using System;
using ShardGen.Devices;

namespace ShardGen.Runtime;

/// <summary>
/// A KV cache on the mesh: for each device and each block of the stack, keys and values of the device's own KV heads
/// ([MaxTokens, LocalKvHeads·HeadDim] each; a KV head replicated where grouped-query attention replicates it).
/// Made by a language model's <c>CreateCache</c>; each Forward with it appends its tokens' k and v.
/// </summary>
public sealed class ShardedKvCache : KvCache
{
    private readonly DeviceAllocations _memory = new();
    private readonly MatrixView[][] _keys, _values;
    private bool _disposed;

    internal ShardedKvCache(ShardedModelCore owner, TransformerStack stack, int maxTokens) : base(maxTokens)
    {
        Owner = owner;
        var block = stack.Block;
        int devices = block.Devices, width = block.LocalKvHeads * block.HeadDim;
        _keys = new MatrixView[devices][];
        _values = new MatrixView[devices][];
        try
        {
            for (int rank = 0; rank < devices; rank++)
            {
                var device = owner.Mesh.Devices[rank];
                _keys[rank] = new MatrixView[stack.Count];
                _values[rank] = new MatrixView[stack.Count];
                for (int b = 0; b < stack.Count; b++)
                {
                    _keys[rank][b] = _memory.Allocate(device, maxTokens, width);
                    _values[rank][b] = _memory.Allocate(device, maxTokens, width);
                }
            }
        }
        catch
        {
            _memory.Dispose();
            throw;
        }
    }

    /// <summary>The model core the cache belongs to: a cache runs only with the model that made it.</summary>
    internal ShardedModelCore Owner { get; }

    /// <summary>Device <paramref name="rank"/>'s keys of block <paramref name="block"/>.</summary>
    internal MatrixView Keys(int rank, int block) => _keys[rank][block];

    /// <summary>Device <paramref name="rank"/>'s values of block <paramref name="block"/>.</summary>
    internal MatrixView Values(int rank, int block) => _values[rank][block];

    internal bool IsDisposed => _disposed;

    /// <summary>Counts <paramref name="tokens"/> more tokens, once their pass has completed.</summary>
    internal void Advance(int tokens) => Length += tokens;

    /// <summary>Forgets every token (the buffers stay, for the next sequence).</summary>
    public void Clear() => Length = 0;

    public override void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _memory.Dispose();
        }
        base.Dispose();
    }
}
