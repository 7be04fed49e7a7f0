using ShardGen.Planning;

namespace ShardGen.Generators.Models;

/// <summary>
/// Everything the emitter needs to write one model, as plain values: where the class lives, its declared
/// device count (0 when unset) and its layers in forward order. Holds no compiler symbols, syntax or
/// locations, so the pipeline caches it by value.
/// </summary>
internal sealed record ModelSpec(HierarchyInfo Hierarchy, int Devices, EquatableArray<LayerModel> Layers)
{
    /// <summary>The class's own name, used in messages and plan output ("Mlp").</summary>
    public string Name => Hierarchy.Name;
}

/// <summary>
/// One layer property: the planner's <see cref="LayerSpec"/> plus the modifiers of the user's partial
/// declaration (e.g. "public"), which the implementing declaration must repeat.
/// </summary>
internal sealed record LayerModel(LayerSpec Spec, string Modifiers);
