using System;
using System.Collections.Generic;
using ShardGen.Generators.Diagnostics;
using ShardGen.Generators.Models;
using ShardGen.Planning;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// The last part of reading a model, shared by the semantic <see cref="ModelParser"/> and the syntactic
/// <see cref="SyntacticModelReader"/> so the two cannot drift: SHARD019, a language model's shape
/// (<see cref="LanguageModelCheck"/>, SHARD024–027), the layer rules of
/// <see cref="ShardRules"/> (SHARD006–012, 017, 018) and the final <see cref="ModelSpec"/>.
/// Locations are asked for only when there is a diagnostic to place.
/// </summary>
internal static class ModelAssembler
{
    /// <summary>What a reader knows about the class besides its layers; the delegates run only for diagnostics.</summary>
    public sealed class ModelFacts
    {
        public string Name { get; set; } = "";
        public int Devices { get; set; }
        public bool SequenceParallel { get; set; }
        public Func<string> DisplayName { get; set; } = () => "";
        public Func<LocationInfo?> IdentifierLocation { get; set; } = () => null;
        /// <summary>The <c>SequenceParallel = true</c> argument (or the attribute), for SHARD019.</summary>
        public Func<LocationInfo?> SequenceParallelLocation { get; set; } = () => null;
        public Func<HierarchyInfo> Hierarchy { get; set; } = () => throw new InvalidOperationException("no hierarchy");
    }

    /// <summary>
    /// Checks the layers (in forward order) and builds the result. <paramref name="attributeLocation"/> finds layer i's
    /// attribute when a rule needs it. <paramref name="diagnostics"/> holds what the reader already reported;
    /// <paramref name="valid"/> is false when one of those was an error (then no model is emitted).
    /// </summary>
    public static ModelParseResult Assemble(ModelFacts model, IReadOnlyList<LayerModel> layers, Func<int, LocationInfo?> attributeLocation,
        List<DiagnosticInfo>? diagnostics, bool valid)
    {
        // SHARD019: sequence parallelism shards the residual stream of transformer blocks; without one it does nothing.
        if (model.SequenceParallel && !HasBlock(layers))
        {
            (diagnostics ??= new List<DiagnosticInfo>()).Add(DiagnosticInfo.Create(DiagnosticDescriptors.SequenceParallelWithoutBlocks,
                model.SequenceParallelLocation() ?? model.IdentifierLocation(), model.DisplayName()));
        }

        var specs = new LayerSpec[layers.Count];
        for (int i = 0; i < specs.Length; i++) specs[i] = layers[i].Spec;

        // A language model's shape first: with its layers out of order or missing, the size rules would only add noise.
        if (LanguageModelCheck.Run(model.Name, layers, attributeLocation, d => (diagnostics ??= new List<DiagnosticInfo>()).Add(d)))
            return new ModelParseResult(null, diagnostics!.ToEquatableArray());

        var problems = ShardRules.CheckStructure(model.Name, specs);
        if (problems.Count == 0 && model.Devices != 0) problems = ShardRules.CheckDevices(model.Name, specs, model.Devices);
        foreach (var problem in problems)
        {
            var descriptor = DiagnosticDescriptors.Find(problem.Id);
            if (descriptor is null) continue;
            var location = problem.LayerIndex >= 0 && problem.LayerIndex < layers.Count
                ? attributeLocation(problem.LayerIndex)
                : model.IdentifierLocation();
            var additional = problem.OtherLayerIndex >= 0 && problem.OtherLayerIndex < layers.Count
                && attributeLocation(problem.OtherLayerIndex) is { } other
                ? new EquatableArray<LocationInfo>(new[] { other })
                : EquatableArray<LocationInfo>.Empty;
            (diagnostics ??= new List<DiagnosticInfo>()).Add(
                new DiagnosticInfo(descriptor.Id, location, new EquatableArray<string>(new[] { problem.Message }), additional));
            valid = false;
        }

        var reported = diagnostics is null ? EquatableArray<DiagnosticInfo>.Empty : diagnostics.ToEquatableArray();
        if (!valid) return new ModelParseResult(null, reported);
        var layerModels = new LayerModel[layers.Count];
        for (int i = 0; i < layerModels.Length; i++) layerModels[i] = layers[i];
        return new ModelParseResult(
            new ModelSpec(model.Hierarchy(), model.Devices, new EquatableArray<LayerModel>(layerModels), model.SequenceParallel), reported);
    }

    private static bool HasBlock(IReadOnlyList<LayerModel> layers)
    {
        foreach (var layer in layers)
            if (layer.Spec.Strategy is ParallelStrategy.TransformerBlock or ParallelStrategy.TransformerStack) return true;
        return false;
    }
}
