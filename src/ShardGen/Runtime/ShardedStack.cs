using System;
using System.Collections.Generic;

namespace ShardGen.Runtime;

/// <summary>
/// A transformer stack on the mesh: its blocks in order, each split like a single block. The generated Forward loops
/// over them (<c>for (int i = 0; i &lt; stack.Count; i++)</c>), running one block's steps on <c>stack[i]</c>.
/// </summary>
public sealed class ShardedStack : IShardedLayer
{
    private readonly ShardedTransformerBlock[] _blocks;

    private ShardedStack(TransformerStack info, ShardedTransformerBlock[] blocks)
    {
        Info = info;
        _blocks = blocks;
    }

    public TransformerStack Info { get; }

    PlannedLayer IShardedLayer.Layer => Info;

    /// <summary>Blocks in the stack.</summary>
    public int Count => _blocks.Length;

    /// <summary>Block <paramref name="index"/>.</summary>
    public ShardedTransformerBlock this[int index] => _blocks[index];

    public IReadOnlyList<ShardedTransformerBlock> Blocks => _blocks;

    /// <summary>Uploads every block's shards from <paramref name="source"/> (checked against the plan by the caller).</summary>
    public static ShardedStack Load(DeviceMesh mesh, TransformerStack info, IWeightSource source)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(info);
        var blocks = new ShardedTransformerBlock[info.Count];
        try
        {
            for (int b = 0; b < blocks.Length; b++) blocks[b] = ShardedTransformerBlock.Load(mesh, info.Block, source, b);
            return new ShardedStack(info, blocks);
        }
        catch
        {
            foreach (var block in blocks) block?.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var block in _blocks) block.Dispose();
    }
}
