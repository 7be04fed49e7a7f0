using ShardGen.Planning;

namespace ShardGen;

/// <summary>
/// A stack of <see cref="Count"/> identical pre-norm transformer blocks as planned on a mesh; each is split like a
/// <see cref="TransformerBlock"/> (<see cref="Block"/> describes one).
/// </summary>
public sealed class TransformerStack : PlannedLayer
{
    internal TransformerStack(LayerSpec spec, int index, int devices) : base(spec, index, devices)
    {
        Block = new TransformerBlock(spec, index, devices);
        if (Block.Shape.LayerWindows is { } windows && windows.Count != Count)
            throw new ShardingException($"Layer '{spec.Name}' lists {windows.Count} block windows (LayerWindows {windows}) for {Count} blocks: give one per block.");
    }

    /// <summary>One block of the stack: heads, KV heads and MLP columns per device.</summary>
    public TransformerBlock Block { get; }

    /// <summary>Blocks in the stack.</summary>
    public int Count => Block.Shape.Layers;

    public override long BytesPerDevice => Count * Block.BytesPerDevice;

    public override string ToString() => $"{Name}: {Count} × ({Block})";
}
