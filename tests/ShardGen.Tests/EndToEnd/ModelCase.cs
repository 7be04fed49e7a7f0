using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Tests.Models;

namespace ShardGen.Tests.EndToEnd;

/// <summary>
/// A generated model, created on a mesh with seeded random weights, plus those weights in layer order so
/// the test's own reference can recompute the result.
/// </summary>
public sealed record ModelCase(string Name, IReadOnlyList<LayerSpec> Specs, Func<DeviceMesh, int, (IShardedModel Model, LinearWeights[] Weights)> Create)
{
    public override string ToString() => Name;

    public static readonly ModelCase Mlp = new(nameof(Models.Mlp), Models.Mlp.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.Mlp.Weights.Random(seed);
        return (Models.Mlp.Create(mesh, w), new[] { w.Up!, w.Down! });
    });

    public static readonly ModelCase ColumnColumn = new(nameof(Models.ColumnColumn), Models.ColumnColumn.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.ColumnColumn.Weights.Random(seed);
        return (Models.ColumnColumn.Create(mesh, w), new[] { w.First!, w.Second! });
    });

    public static readonly ModelCase RowFirst = new(nameof(Models.RowFirst), Models.RowFirst.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.RowFirst.Weights.Random(seed);
        return (Models.RowFirst.Create(mesh, w), new[] { w.In!, w.Out! });
    });

    public static readonly ModelCase ThreeLayer = new(nameof(Models.ThreeLayer), Models.ThreeLayer.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.ThreeLayer.Weights.Random(seed);
        return (Models.ThreeLayer.Create(mesh, w), new[] { w.A!, w.B!, w.C! });
    });

    public static readonly ModelCase TorchLayoutMlp = new(nameof(Models.TorchLayoutMlp), Models.TorchLayoutMlp.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.TorchLayoutMlp.Weights.Random(seed);
        return (Models.TorchLayoutMlp.Create(mesh, w), new[] { w.Up!, w.Down! });
    });

    public static readonly ModelCase Summa = new(nameof(Models.Summa), Models.Summa.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.Summa.Weights.Random(seed);
        return (Models.Summa.Create(mesh, w), new[] { w.Layer! });
    });

    public static readonly ModelCase SummaTorch = new(nameof(Models.SummaTorch), Models.SummaTorch.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.SummaTorch.Weights.Random(seed);
        return (Models.SummaTorch.Create(mesh, w), new[] { w.Layer! });
    });

    public static readonly ModelCase Mixed = new(nameof(Models.Mixed), Models.Mixed.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.Mixed.Weights.Random(seed);
        return (Models.Mixed.Create(mesh, w), new[] { w.Up!, w.Mid!, w.Down! });
    });

    public static readonly ModelCase RowIntoGrid = new(nameof(Models.RowIntoGrid), Models.RowIntoGrid.LayerSpecs, (mesh, seed) =>
    {
        var w = Models.RowIntoGrid.Weights.Random(seed);
        return (Models.RowIntoGrid.Create(mesh, w), new[] { w.In!, w.Grid!, w.Out! });
    });

    /// <summary>The double-precision reference of this model on <paramref name="x"/>.</summary>
    public double[,] Reference(LinearWeights[] weights, float[,] x)
    {
        var a = ShardGen.Tests.Reference.ReferenceMath.ToDouble(x);
        for (int i = 0; i < Specs.Count; i++)
            a = ShardGen.Tests.Reference.ReferenceMath.Linear(a, weights[i].Weight, weights[i].Bias, Specs[i].WeightLayout == WeightLayout.OutIn, Specs[i].Activation);
        return a;
    }

    public static IEnumerable<ModelCase> OneDimensional => new[] { Mlp, ColumnColumn, RowFirst, ThreeLayer, TorchLayoutMlp };

    public static IEnumerable<ModelCase> TwoDimensional => new[] { Summa, SummaTorch, Mixed, RowIntoGrid };
}
