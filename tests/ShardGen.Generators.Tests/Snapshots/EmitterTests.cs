extern alias gen;

using System.Collections.Generic;
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
using GeneratedMembers = gen::ShardGen.Generators.Emitting.GeneratedMembers;
using ModelSpec = gen::ShardGen.Generators.Models.ModelSpec;
using ParallelStrategy = gen::ShardGen.Planning.ParallelStrategy;
using TrackingNames = gen::ShardGen.Generators.TrackingNames;
using TypeInfo = gen::ShardGen.Generators.Models.TypeInfo;
using WeightLayout = gen::ShardGen.WeightLayout;
using PlacementPlanner = gen::ShardGen.Planning.PlacementPlanner;
using PlanCost = gen::ShardGen.Planning.PlanCost;
using Steps = gen::ShardGen.Planning.Steps;
using NormKind = gen::ShardGen.NormKind;
using TransformerSpec = gen::ShardGen.Planning.TransformerSpec;

/// <summary>The emitter is a pure function of a hand-built <see cref="ModelSpec"/>.</summary>
public class EmitterTests
{
    private static ModelSpec Spec(string ns, string name, int devices, params LayerSpec[] layers) =>
        Spec(ns, name, devices, false, layers);

    private static ModelSpec Spec(string ns, string name, int devices, bool sequenceParallel, params LayerSpec[] layers) =>
        new(new HierarchyInfo(ns.Length > 0 ? $"{ns}.{name}" : name, ns, new[] { new TypeInfo(name, "class") }.ToEquatableArray()),
            devices, layers.Select(l => new LayerModel(l, "public")).ToEquatableArray(), sequenceParallel);

    private static LayerSpec Block(string name, int hidden, int heads, int kvHeads, int ffn) =>
        new(name, ParallelStrategy.TransformerBlock, hidden, hidden, true, Activation.Gelu, WeightLayout.InOut)
        {
            Block = new TransformerSpec(heads, kvHeads, ffn, NormKind.LayerNorm, true, 1e-5f),
        };

    /// <summary>The comment of Forward step <paramref name="number"/> (1-based), its wrapped lines joined again.</summary>
    private static string StepCommentOf(string text, int number)
    {
        var lines = text.Split('\n').Select(l => l.Trim()).ToList();
        int at = lines.FindIndex(l => l.StartsWith($"// {number}. ", System.StringComparison.Ordinal));
        Assert.True(at >= 0, $"No comment for step {number}.");
        var parts = new List<string> { lines[at][$"// {number}. ".Length..] };
        for (int i = at + 1; i < lines.Count && lines[i].StartsWith("//    ", System.StringComparison.Ordinal); i++)
            parts.Add(lines[i]["//    ".Length..]);
        return string.Join(" ", parts);
    }

    private static ModelSpec LanguageModel() => Spec("Demo", "Lm", 0,
        new LayerSpec("Embed", ParallelStrategy.VocabEmbedding, 1003, 64, false, Activation.None, WeightLayout.InOut),
        new LayerSpec("Layers", ParallelStrategy.TransformerStack, 64, 64, false, Activation.Silu, WeightLayout.InOut)
        {
            Block = new TransformerSpec(4, 2, 128, NormKind.RmsNorm, true, 1e-5f) { Layers = 2, Mlp = gen::ShardGen.MlpKind.Gated, Rotary = true, RopeTheta = 10000f },
        },
        new LayerSpec("FinalNorm", ParallelStrategy.FinalNorm, 64, 64, false, Activation.None, WeightLayout.InOut) { Norm = NormKind.RmsNorm, NormEpsilon = 1e-5f },
        new LayerSpec("Head", ParallelStrategy.LmHead, 64, 1003, false, Activation.None, WeightLayout.InOut));

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
    public void GeneratedMembersListsExactlyWhatTheEmitterWrites()
    {
        // The readers reject user members and model names from GeneratedMembers (SHARD014, SHARD021): it must
        // name every member the emitter writes besides the layers, for linear, block and language models alike (a
        // language model has Load, Vocab and CreateCache instead of Weights): together, exactly the list.
        var written = new HashSet<string>();
        foreach (var spec in new[] { Mlp(), Spec("", "Gpt", 0, true, Block("Block0", 64, 4, 2, 256)), LanguageModel() })
        {
            var root = Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(ModelEmitter.Emit(spec)).GetRoot();
            var model = root.DescendantNodes().OfType<Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax>().First();
            var layers = spec.Layers.Select(l => l.Spec.Name).ToHashSet();
            var members = MemberNames(model).Where(n => !layers.Contains(n)).ToList();
            Assert.All(members, n => Assert.Contains(n, GeneratedMembers.Names));
            written.UnionWith(members);
            foreach (var weights in model.Members.OfType<Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax>())
                Assert.Equal(GeneratedMembers.WeightsNames.OrderBy(n => n), MemberNames(weights).Where(n => !layers.Contains(n)).OrderBy(n => n));
        }
        Assert.Equal(GeneratedMembers.Names.OrderBy(n => n), written.OrderBy(n => n));

        static IEnumerable<string> MemberNames(Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax type) => type.Members.SelectMany(m => m switch
        {
            Microsoft.CodeAnalysis.CSharp.Syntax.PropertyDeclarationSyntax p => new[] { p.Identifier.ValueText },
            Microsoft.CodeAnalysis.CSharp.Syntax.MethodDeclarationSyntax me => new[] { me.Identifier.ValueText },
            Microsoft.CodeAnalysis.CSharp.Syntax.BaseTypeDeclarationSyntax t => new[] { t.Identifier.ValueText },
            Microsoft.CodeAnalysis.CSharp.Syntax.BaseFieldDeclarationSyntax f => f.Declaration.Variables.Select(v => v.Identifier.ValueText).ToArray(),
            _ => System.Array.Empty<string>(), // constructors
        });
    }

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
        string[] calls = text.Split('\n').Select(l => l.Trim())
            .TakeWhile(l => !l.StartsWith("public float[,] Backward(", System.StringComparison.Ordinal)) // Forward's calls only
            .Where(l => l.Contains("pass.")).ToArray();
        Assert.Equal(new[]
        {
            "var a0 = pass.UploadReplicated();",
            "var a1 = pass.ColumnParallel(a0, _core.Linear(0));",
            "var a2 = pass.RowParallel(a1, _core.Linear(1));",
            "var a3 = pass.AllReduce(a2);",
            "pass.BiasActivation(a3, _core.Linear(1));",
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
        foreach (var step in PlacementPlanner.Plan(layers))
        {
            if (!step.IsCollective && step.Type is not Steps.Summa2D) continue;
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

    /// <summary>
    /// Every collective of a model with transformer blocks, with and without sequence parallelism: the byte figure in
    /// its own Forward comment is PlanCost's (per device), and the remarks list one item per collective.
    /// </summary>
    [Theory]
    [InlineData(2, false)]
    [InlineData(4, false)]
    [InlineData(8, false)]
    [InlineData(2, true)]
    [InlineData(4, true)]
    [InlineData(8, true)]
    public void BlockBytesMatchPlanCost(int devices, bool sequenceParallel)
    {
        var layers = new[]
        {
            new LayerSpec("In", ParallelStrategy.ColumnParallel, 256, 512, true, Activation.None, WeightLayout.InOut),
            Block("Block0", 512, 8, 2, 2048),
            Block("Block1", 512, 8, 8, 1536),
            new LayerSpec("Down", ParallelStrategy.RowParallel, 512, 512, true, Activation.None, WeightLayout.InOut),
            Block("Block2", 512, 16, 1, 1024),
            new LayerSpec("Head", ParallelStrategy.ColumnParallel, 512, 1024, false, Activation.None, WeightLayout.InOut),
        };
        string text = ModelEmitter.Emit(Spec("Demo", "Check", devices, sequenceParallel, layers));
        var steps = PlacementPlanner.Plan(layers, sequenceParallel);
        int collectives = 0;
        for (int k = 0; k < steps.Count; k++)
        {
            var step = steps[k];
            if (!step.IsCollective) continue;
            var layer = step.LayerIndex >= 0 ? layers[step.LayerIndex] : null;
            long b1 = PlanCost.TotalBytes(step, layer, devices, 1), b2 = PlanCost.TotalBytes(step, layer, devices, 2);
            Assert.Equal(0, b1 % devices);
            long perToken = (b2 - b1) / devices;
            Assert.Equal(b1 / devices, perToken); // linear in T, no constant term
            Assert.Contains($"= {perToken}·T B per device", StepCommentOf(text, k + 1));
            collectives++;
        }
        // Each block: 2 all-reduces, or 2 reduce-scatters + 2 all-gathers of tokens.
        int perBlock = sequenceParallel ? 4 : 2;
        int inBlocks = Enumerable.Range(0, steps.Count).Count(k => steps[k].IsCollective
            && ((k > 0 && steps[k - 1].Type is Steps.AttentionOutput or Steps.MlpDown)
                || (k + 1 < steps.Count && steps[k + 1].Type is Steps.QkvProjection or Steps.MlpUp)));
        Assert.Equal(3 * perBlock, inBlocks);
        for (int b = 0; b < 3; b++)
            Assert.Equal(perBlock, System.Text.RegularExpressions.Regex.Matches(text, $"<item><description>[^<]*#[12] of 2 in Block{b}").Count);
        Assert.Equal(collectives, System.Text.RegularExpressions.Regex.Matches(text, "<item><description>[^<]*B per device.</description>").Count);
        Assert.Contains(sequenceParallel ? "2 reduce-scatters + 2 all-gathers per forward (sequence parallel)" : "2 all-reduces per forward", text);
    }

    /// <summary>The KV-head split is TransformerSpec's: replicated KV heads when there are fewer than devices.</summary>
    [Theory]
    [InlineData(8, 2, 4, "[512, (2 + 2·1)·64 = 256]", "2 KV heads < 4 devices: each device holds 1 KV head")]
    [InlineData(8, 2, 2, "[512, (4 + 2·1)·64 = 384]", "its 4 query heads share 1 KV head (groups of 4 query heads)")]
    [InlineData(8, 4, 2, "[512, (4 + 2·2)·64 = 512]", "its 4 query heads share 2 KV heads (groups of 2 query heads)")]
    [InlineData(8, 1, 8, "[512, (1 + 2·1)·64 = 192]", "1 KV head < 8 devices: each device holds 1 KV head")]
    [InlineData(8, 8, 4, "[512, (2 + 2·2)·64 = 384]", null)]
    public void KvHeadsPerDeviceComeFromTheSpec(int heads, int kvHeads, int devices, string qkvShard, string? note)
    {
        var block = Block("Block0", 512, heads, kvHeads, 2048);
        string text = ModelEmitter.Emit(Spec("Demo", "Gqa", devices, block));
        string qkv = StepCommentOf(text, 3);
        Assert.Contains(qkvShard, qkv);
        int local = block.Block!.LocalKvHeads(devices), perDevice = heads / devices;
        Assert.Contains($"({perDevice} + 2·{local})", qkv);
        if (note is null) Assert.DoesNotContain("KV head", qkv.Replace("matching KV heads", ""));
        else Assert.Contains(note, qkv);
    }
}
