using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Tests.Reference;
using M = ShardGen.Tests.Models;

namespace ShardGen.Tests.Transformer;

/// <summary>A generated model with transformer blocks, its weights, and a way to call its sequence-aware Forward.</summary>
public sealed record TransformerCase(
    string Name,
    IReadOnlyList<LayerSpec> Specs,
    Func<DeviceMesh, int, (IShardedModel Model, LayerWeights[] Weights)> Create,
    Func<IShardedModel, float[,], int[]?, float[,]> Forward)
{
    public override string ToString() => Name;

    private static TransformerCase Of<T>(string name, IReadOnlyList<LayerSpec> specs, Func<DeviceMesh, int, (T, LayerWeights[])> create,
        Func<T, float[,], int[]?, float[,]> forward) where T : IShardedModel =>
        new(name, specs, (mesh, seed) => create(mesh, seed), (m, x, lengths) => forward((T)m, x, lengths));

    public static readonly TransformerCase Mha = Of(nameof(M.MhaBlock), M.MhaBlock.LayerSpecs, (mesh, seed) =>
    {
        var w = M.MhaBlock.Weights.Random(seed);
        return (M.MhaBlock.Create(mesh, w), new LayerWeights[] { w.Block! });
    }, (m, x, l) => m.Forward(x, l));

    public static readonly TransformerCase Gqa = Of(nameof(M.GqaBlock), M.GqaBlock.LayerSpecs, (mesh, seed) =>
    {
        var w = M.GqaBlock.Weights.Random(seed);
        return (M.GqaBlock.Create(mesh, w), new LayerWeights[] { w.Block! });
    }, (m, x, l) => m.Forward(x, l));

    public static readonly TransformerCase Mqa = Of(nameof(M.MqaBlock), M.MqaBlock.LayerSpecs, (mesh, seed) =>
    {
        var w = M.MqaBlock.Weights.Random(seed);
        return (M.MqaBlock.Create(mesh, w), new LayerWeights[] { w.Block! });
    }, (m, x, l) => m.Forward(x, l));

    public static readonly TransformerCase TwoBlocks = Of(nameof(M.TwoBlocks), M.TwoBlocks.LayerSpecs, (mesh, seed) =>
    {
        var w = M.TwoBlocks.Weights.Random(seed);
        return (M.TwoBlocks.Create(mesh, w), new LayerWeights[] { w.First!, w.Second!, w.Head! });
    }, (m, x, l) => m.Forward(x, l));

    public static readonly TransformerCase TwoBlocksSequenceParallel = Of(nameof(M.TwoBlocksSequenceParallel), M.TwoBlocksSequenceParallel.LayerSpecs, (mesh, seed) =>
    {
        var w = M.TwoBlocksSequenceParallel.Weights.Random(seed);
        return (M.TwoBlocksSequenceParallel.Create(mesh, w), new LayerWeights[] { w.First!, w.Second!, w.Head! });
    }, (m, x, l) => m.Forward(x, l));

    public static readonly TransformerCase MqaSequenceParallel = Of(nameof(M.MqaSequenceParallel), M.MqaSequenceParallel.LayerSpecs, (mesh, seed) =>
    {
        var w = M.MqaSequenceParallel.Weights.Random(seed);
        return (M.MqaSequenceParallel.Create(mesh, w), new LayerWeights[] { w.Block! });
    }, (m, x, l) => m.Forward(x, l));

    public static readonly TransformerCase RowIntoSequenceParallelBlock = Of(nameof(M.RowIntoSequenceParallelBlock), M.RowIntoSequenceParallelBlock.LayerSpecs, (mesh, seed) =>
    {
        var w = M.RowIntoSequenceParallelBlock.Weights.Random(seed);
        return (M.RowIntoSequenceParallelBlock.Create(mesh, w), new LayerWeights[] { w.In!, w.Block! });
    }, (m, x, l) => m.Forward(x, l));

    public static IEnumerable<TransformerCase> All =>
        new[] { Mha, Gqa, Mqa, TwoBlocks, TwoBlocksSequenceParallel, MqaSequenceParallel, RowIntoSequenceParallelBlock };

    /// <summary>The double-precision reference over sequences of <paramref name="lengths"/> (null: one sequence).</summary>
    public double[,] Reference(LayerWeights[] weights, float[,] x, int[]? lengths)
    {
        var starts = TransformerReference.Starts(lengths, x.GetLength(0));
        var a = ReferenceMath.ToDouble(x);
        for (int i = 0; i < Specs.Count; i++)
            a = weights[i] is TransformerBlockWeights block
                ? TransformerReference.Block(a, Specs[i], block, starts)
                : ReferenceMath.Linear(a, ((LinearWeights)weights[i]).Weight, ((LinearWeights)weights[i]).Bias,
                    Specs[i].WeightLayout == WeightLayout.OutIn, Specs[i].Activation);
        return a;
    }

    /// <summary>Width of the model's input.</summary>
    public int Hidden => Specs[0].InFeatures;

    public int Blocks => Specs.Count(s => s.Strategy == ParallelStrategy.TransformerBlock);
}
