extern alias gen;

using System.Linq;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests.Snapshots;

using gen::ShardGen.Generators.Models;
using GenActivation = gen::ShardGen.Activation;
using GenLayerSpec = gen::ShardGen.Planning.LayerSpec;
using GenNormKind = gen::ShardGen.NormKind;
using GenStrategy = gen::ShardGen.Planning.ParallelStrategy;
using GenTransformerSpec = gen::ShardGen.Planning.TransformerSpec;
using GenWeightLayout = gen::ShardGen.WeightLayout;
using HierarchyInfo = gen::ShardGen.Generators.Models.HierarchyInfo;
using LayerModel = gen::ShardGen.Generators.Models.LayerModel;
using ModelEmitter = gen::ShardGen.Generators.Emitting.ModelEmitter;
using ModelSpec = gen::ShardGen.Generators.Models.ModelSpec;
using TypeInfo = gen::ShardGen.Generators.Models.TypeInfo;

/// <summary>
/// One wording for plan text: with the device count fixed, <c>model.Plan</c>'s step lines are exactly the generated
/// Forward's comments, line for line (both come from the step catalog's one description).
/// </summary>
public sealed class PlanWordingTests
{
    public static TheoryData<string, int, bool> Models() => new()
    {
        { "mlp", 4, false },
        { "summa", 4, false },
        { "mixed", 16, false },
        { "blocks", 4, false },
        { "blocks", 4, true },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void PlanStepLinesAreTheGeneratedComments(string model, int devices, bool sequenceParallel)
    {
        var layers = Layers(model);
        var spec = new ModelSpec(new HierarchyInfo("Demo.M", "Demo", new[] { new TypeInfo("M", "class") }.ToEquatableArray()),
            devices, layers.Select(l => new LayerModel(l, "public")).ToEquatableArray(), sequenceParallel);
        var comments = ModelEmitter.Emit(spec).Split('\n').Select(l => l.Trim())
            .SkipWhile(l => !l.StartsWith("// 1. ", System.StringComparison.Ordinal))
            .TakeWhile(l => !l.StartsWith("public float[,] Backward(", System.StringComparison.Ordinal)) // Forward's comments only
            .Where(l => l.StartsWith("// ", System.StringComparison.Ordinal))
            .Select(l => Unnumbered(l.Substring(3).TrimStart()))
            .ToArray();

        var plan = global::ShardGen.ModelPlan.Create("M", layers.Select(Runtime).ToArray(), devices, sequenceParallel: sequenceParallel).ToString();
        var planLines = plan.Split('\n').Select(l => l.Trim())
            .SkipWhile(l => !l.StartsWith("forward steps", System.StringComparison.Ordinal)).Skip(1)
            .TakeWhile(l => l.Length > 0)
            .Where(l => !l.StartsWith("placements: ", System.StringComparison.Ordinal)) // the placements and bytes after each step
            .Select(Unnumbered)
            .ToArray();

        Assert.True(comments.Length > layers.Length, $"{model}: found only {comments.Length} comment lines");
        Assert.Equal(comments, planLines);
    }

    /// <summary>A step's first line without its "3. ".</summary>
    private static string Unnumbered(string line)
    {
        int dot = line.IndexOf(". ", System.StringComparison.Ordinal);
        return dot > 0 && line.Substring(0, dot).All(char.IsDigit) ? line.Substring(dot + 2) : line;
    }

    private static GenLayerSpec[] Layers(string model) => model switch
    {
        "mlp" => new[]
        {
            new GenLayerSpec("Up", GenStrategy.ColumnParallel, 64, 256, true, GenActivation.Gelu, GenWeightLayout.InOut),
            new GenLayerSpec("Down", GenStrategy.RowParallel, 256, 64, true, GenActivation.None, GenWeightLayout.InOut),
        },
        "summa" => new[]
        {
            new GenLayerSpec("A", GenStrategy.Summa2D, 64, 128, true, GenActivation.Relu, GenWeightLayout.OutIn),
            new GenLayerSpec("B", GenStrategy.Summa2D, 128, 64, false, GenActivation.None, GenWeightLayout.InOut),
        },
        "mixed" => new[]
        {
            new GenLayerSpec("In", GenStrategy.RowParallel, 64, 128, true, GenActivation.Silu, GenWeightLayout.InOut),
            new GenLayerSpec("Mid", GenStrategy.Summa2D, 128, 128, true, GenActivation.None, GenWeightLayout.InOut),
            new GenLayerSpec("Out", GenStrategy.ColumnParallel, 128, 64, false, GenActivation.None, GenWeightLayout.OutIn),
        },
        _ => new[]
        {
            Block("Block0"), Block("Block1"),
            new GenLayerSpec("Head", GenStrategy.ColumnParallel, 64, 128, false, GenActivation.None, GenWeightLayout.InOut),
        },
    };

    private static GenLayerSpec Block(string name) =>
        new(name, GenStrategy.TransformerBlock, 64, 64, true, GenActivation.Gelu, GenWeightLayout.InOut)
        {
            Block = new GenTransformerSpec(8, 2, 256, GenNormKind.RmsNorm, true, 1e-5f),
        };

    private static global::ShardGen.Planning.LayerSpec Runtime(GenLayerSpec l) =>
        new(l.Name, (global::ShardGen.Planning.ParallelStrategy)(int)l.Strategy, l.InFeatures, l.OutFeatures, l.HasBias,
            (global::ShardGen.Activation)(int)l.Activation, (global::ShardGen.WeightLayout)(int)l.WeightLayout)
        {
            Block = l.Block is { } b
                ? new global::ShardGen.Planning.TransformerSpec(b.Heads, b.KvHeads, b.FfnHidden, (global::ShardGen.NormKind)(int)b.Norm, b.Causal, b.Epsilon)
                : null,
        };
}
