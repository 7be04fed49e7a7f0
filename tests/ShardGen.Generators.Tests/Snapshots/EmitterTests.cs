extern alias gen;

using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests.Snapshots;

// Inside the namespace, so the generator's copies win over the runtime's ShardGen.Activation etc.
using gen::ShardGen.Generators.Models;
using Activation = gen::ShardGen.Activation;
using HierarchyInfo = gen::ShardGen.Generators.Models.HierarchyInfo;
using LayerModel = gen::ShardGen.Generators.Models.LayerModel;
using LayerSpec = gen::ShardGen.Planning.LayerSpec;
using ModelEmitter = gen::ShardGen.Generators.Emitting.ModelEmitter;
using ModelSpec = gen::ShardGen.Generators.Models.ModelSpec;
using ParallelStrategy = gen::ShardGen.Planning.ParallelStrategy;
using TrackingNames = gen::ShardGen.Generators.TrackingNames;
using TypeInfo = gen::ShardGen.Generators.Models.TypeInfo;
using WeightLayout = gen::ShardGen.WeightLayout;
using LayoutPlanner = gen::ShardGen.Planning.LayoutPlanner;
using PlanCost = gen::ShardGen.Planning.PlanCost;
using PlanStepKind = gen::ShardGen.Planning.PlanStepKind;

/// <summary>The emitter is a pure function of a hand-built <see cref="ModelSpec"/>.</summary>
public class EmitterTests
{
    private static ModelSpec Spec(string ns, string name, int devices, params LayerSpec[] layers) =>
        new(new HierarchyInfo(ns.Length > 0 ? $"{ns}.{name}" : name, ns, new[] { new TypeInfo(name, "class") }.ToEquatableArray()),
            devices, layers.Select(l => new LayerModel(l, "public")).ToEquatableArray());

    private static ModelSpec Mlp() => Spec("Demo", "Mlp", 0,
        new LayerSpec("Up", ParallelStrategy.ColumnParallel, 1024, 4096, true, Activation.Gelu, WeightLayout.InOut),
        new LayerSpec("Down", ParallelStrategy.RowParallel, 4096, 1024, true, Activation.None, WeightLayout.InOut));

    private const string MlpSource = """
        using ShardGen;
        namespace Demo;

        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
            public partial Linear Up { get; }

            [RowParallel(4096, 1024)]
            public partial Linear Down { get; }
        }
        """;

    [Fact]
    public void HandBuiltModelEqualsTheParsedOneAndEmitsTheSameSource()
    {
        var compilation = GeneratorHarness.CreateCompilation(("Model.cs", MlpSource));
        var driver = GeneratorHarness.CreateDriver(trackSteps: true).RunGenerators(compilation);
        var result = driver.GetRunResult().Results.Single();
        var parsed = Assert.IsType<ModelSpec>(result.TrackedSteps[TrackingNames.Models].Single().Outputs.Single().Value);

        Assert.Equal(Mlp(), parsed);
        Assert.Equal(Mlp().GetHashCode(), parsed.GetHashCode());
        Assert.Equal(result.GeneratedSources.Single().SourceText.ToString(), ModelEmitter.Emit(Mlp()));
        Assert.Equal("Demo.Mlp.g.cs", result.GeneratedSources.Single().HintName);
    }

    [Fact]
    public void EmitIsDeterministic() => Assert.Equal(ModelEmitter.Emit(Mlp()), ModelEmitter.Emit(Mlp()));

    [Fact]
    public void ForwardIsThePlanLineByLine()
    {
        string text = ModelEmitter.Emit(Mlp());
        string[] calls = text.Split('\n').Select(l => l.Trim()).Where(l => l.Contains("pass.")).ToArray();
        Assert.Equal(new[]
        {
            "var a0 = pass.UploadReplicated();",
            "var a1 = pass.ColumnParallel(a0, _core.Layers[0]);",
            "var a2 = pass.RowParallel(a1, _core.Layers[1]);",
            "var a3 = pass.AllReduce(a2);",
            "pass.BiasActivation(a3, _core.Layers[1]);",
            "return pass.Download(a3);",
        }, calls);
    }

    /// <summary>A 3×3 grid no source test uses: fractions of 9 in the byte formulas, evaluated.</summary>
    [Fact]
    public Task HandBuiltModelOnNineDevices()
    {
        var spec = Spec("Demo", "Nine", 9,
            new LayerSpec("Up", ParallelStrategy.ColumnParallel, 1152, 2304, true, Activation.Relu, WeightLayout.InOut),
            new LayerSpec("Mix", ParallelStrategy.Summa2D, 2304, 2304, false, Activation.GeluTanh, WeightLayout.InOut),
            new LayerSpec("Down", ParallelStrategy.RowParallel, 2304, 576, true, Activation.None, WeightLayout.OutIn));
        string text = ModelEmitter.Emit(spec);

        // The user's half, as they would write it, compiles with the emitted half and no warnings.
        const string user = """
            using ShardGen;
            namespace Demo;

            [ShardedModel(Devices = 9)]
            public partial class Nine
            {
                [ColumnParallel(1152, 2304, Activation = Activation.Relu)]
                public partial Linear Up { get; }

                [Summa2D(2304, 2304, Bias = false, Activation = Activation.GeluTanh)]
                public partial Linear Mix { get; }

                [RowParallel(2304, 576, WeightLayout = WeightLayout.OutIn)]
                public partial Linear Down { get; }
            }
            """;
        var compilation = GeneratorHarness.CreateCompilation(("Nine.cs", user), ("Demo.Nine.g.cs", text));
        Assert.Empty(compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Id != "CS1591"));
        Assert.Equal(text, GeneratorHarness.Run(user).SingleSource);

        return Snapshot.Verify(text, extension: "cs");
    }

    /// <summary>Every evaluated byte figure in the comments is PlanCost's (the source of truth), per device.</summary>
    [Theory]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(16)]
    public void CommentedBytesMatchPlanCost(int devices)
    {
        var layers = new[]
        {
            new LayerSpec("A", ParallelStrategy.RowParallel, 2304, 2304, true, Activation.None, WeightLayout.InOut),
            new LayerSpec("B", ParallelStrategy.Summa2D, 2304, 1152, true, Activation.Relu, WeightLayout.OutIn),
            new LayerSpec("C", ParallelStrategy.ColumnParallel, 1152, 2304, true, Activation.None, WeightLayout.InOut),
            new LayerSpec("D", ParallelStrategy.Summa2D, 2304, 2304, true, Activation.None, WeightLayout.InOut),
            new LayerSpec("E", ParallelStrategy.RowParallel, 2304, 576, true, Activation.None, WeightLayout.InOut),
        };
        string text = ModelEmitter.Emit(Spec("Demo", "Check", devices, layers));
        int q = PlanCost.GridSide(devices), checkedSteps = 0;
        foreach (var step in LayoutPlanner.Plan(layers))
        {
            if (!step.IsCollective && step.Kind != PlanStepKind.Summa2D) continue;
            var layer = step.LayerIndex >= 0 ? layers[step.LayerIndex] : null;
            // Tokens that divide by q, so token blocks are even: bytes = a·T + c per device.
            long b1 = PlanCost.TotalBytes(step, layer, devices, q) / devices, b2 = PlanCost.TotalBytes(step, layer, devices, 2 * q) / devices;
            long a = (b2 - b1) / q, c = b1 - a * q;
            string expected = c == 0 ? $"= {a}·T B per device"
                : layer!.WeightLayout == WeightLayout.OutIn ? $"= ({c} + {a}·T) B per device" : $"= ({a}·T + {c}) B per device";
            Assert.Contains(expected, text);
            checkedSteps++;
        }
        // Reduce-scatter, to blocks, SUMMA, to replicated; to blocks, SUMMA, to column shards, all-reduce.
        Assert.Equal(8, checkedSteps);
    }
}
