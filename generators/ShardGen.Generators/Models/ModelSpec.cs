using ShardGen.Planning;

namespace ShardGen.Generators.Models;

/// <summary>
/// Everything the emitter needs to write one model, as plain values: where the class lives, its declared
/// device count (0 when unset), its layers in forward order, and whether transformer blocks run sequence
/// parallel. Holds no compiler symbols, syntax or locations, so the pipeline caches it by value.
/// </summary>
internal sealed record ModelSpec(HierarchyInfo Hierarchy, int Devices, EquatableArray<LayerModel> Layers, bool SequenceParallel = false)
{
    /// <summary>The class's own name, used in messages and plan output ("Mlp").</summary>
    public string Name => Hierarchy.Name;

    /// <summary>True when at least one layer is a transformer block.</summary>
    public bool HasBlocks
    {
        get
        {
            foreach (var layer in Layers)
                if (layer.Spec.Strategy == ParallelStrategy.TransformerBlock) return true;
            return false;
        }
    }
}

/// <summary>
/// One layer property (a linear layer or a transformer block, <see cref="LayerSpec.Block"/>): the planner's <see cref="LayerSpec"/> plus the modifiers of the user's partial
/// declaration (e.g. "public"), which the implementing declaration must repeat.
/// </summary>
internal sealed record LayerModel(LayerSpec Spec, string Modifiers);
