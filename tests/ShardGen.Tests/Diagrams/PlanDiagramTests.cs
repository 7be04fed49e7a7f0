using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Xml.Linq;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Planning;
using ShardGen.Tests.Models;

using Steps = ShardGen.Planning.Steps;

namespace ShardGen.Tests.Diagrams;

/// <summary>
/// <see cref="ModelPlan.ToSvg"/> read back as XML and checked against the plan's own figures (bytes, calls, weight
/// shards), against independently derived activation shapes, and against a real mesh's grid rows and columns.
/// </summary>
public class PlanDiagramTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>Plans that cover every placement and collective: 1D, 2D (A·B and A·Bᵀ), blocks with and without sequence parallelism.</summary>
    public static TheoryData<string, int, int> Plans() => new()
    {
        { nameof(Mlp), 1, 16 }, { nameof(Mlp), 4, 16 }, { nameof(Mlp), 8, 5 }, { nameof(ColumnColumn), 2, 9 },
        { nameof(Summa), 4, 7 }, { nameof(SummaTorch), 9, 7 }, { nameof(Mixed), 4, 13 }, { nameof(RowIntoGrid), 9, 5 },
        { nameof(TwoBlocks), 4, 8 }, { nameof(TwoBlocksSequenceParallel), 4, 13 }, { nameof(RowIntoSequenceParallelBlock), 2, 7 },
    };

    private static ModelPlan PlanOf(string model, int devices, int tokens) => model switch
    {
        nameof(Mlp) => Mlp.PlanFor(devices, tokens),
        nameof(ColumnColumn) => ColumnColumn.PlanFor(devices, tokens),
        nameof(Summa) => Summa.PlanFor(devices, tokens),
        nameof(SummaTorch) => SummaTorch.PlanFor(devices, tokens),
        nameof(Mixed) => Mixed.PlanFor(devices, tokens),
        nameof(RowIntoGrid) => RowIntoGrid.PlanFor(devices, tokens),
        nameof(TwoBlocks) => TwoBlocks.PlanFor(devices, tokens),
        nameof(TwoBlocksSequenceParallel) => TwoBlocksSequenceParallel.PlanFor(devices, tokens),
        _ => RowIntoSequenceParallelBlock.PlanFor(devices, tokens),
    };

    [Theory, MemberData(nameof(Plans))]
    public void Drawing_is_well_formed_svg_with_one_lane_per_device(string model, int devices, int tokens)
    {
        string text = PlanOf(model, devices, tokens).ToSvg();
        var svg = XDocument.Parse(text).Root!;
        Assert.Equal(Svg + "svg", svg.Name);
        Assert.Equal(Enumerable.Range(0, devices), Groups(svg, "lane").Select(g => (int)g.Attribute("data-device")!));
        Assert.Equal(Enumerable.Range(0, devices).Select(r => $"device {r}"), Groups(svg, "lane-header").Select(g => g.Elements().First().Value));
        Assert.DoesNotContain(svg.Descendants(), e => e.Name.LocalName is "script" or "image" or "foreignObject" || e.Attribute("href") is not null);
        WriteForRenderScript($"{model}-{devices}-{tokens}", text);
    }

    [Theory, MemberData(nameof(Plans))]
    public void Every_collective_is_a_band_carrying_the_plans_bytes_per_device(string model, int devices, int tokens)
    {
        var plan = PlanOf(model, devices, tokens);
        var svg = XDocument.Parse(plan.ToSvg()).Root!;
        var kinds = Enum.GetValues<CollectiveKind>();
        int collectives = 0;
        for (int k = 0; k < plan.Steps.Count; k++)
        {
            var bands = Groups(Step(svg, k), "band").ToArray();
            var calls = kinds.Where(kind => plan.PredictedCalls(plan.Steps[k], kind) > 0).ToArray();
            if (calls.Length == 0)
            {
                Assert.Empty(bands);
                continue;
            }
            collectives++;
            var band = Assert.Single(bands);
            string bytes = ((double)plan.PredictedTotalBytes(plan.Steps[k], tokens) / devices).ToString("N0", CultureInfo.InvariantCulture);
            string text = band.Descendants(Svg + "text").Single().Value;
            Assert.Contains($"{bytes} B/device", text);
            foreach (var kind in calls) Assert.Contains(TrafficReport.KindText(kind), text);
        }
        // The plan's own call count: every collective step found above, and no step without one.
        int planned = plan.Steps.Count(s => kinds.Any(kind => plan.PredictedCalls(s, kind) > 0));
        Assert.Equal(planned, collectives);
        Assert.Equal(planned, Groups(svg, "band").Count());
        Assert.True(devices == 1 || plan.PredictedTotalBytes(tokens) == 0 || collectives > 0);
    }

    [Theory, MemberData(nameof(Plans))]
    public void Shard_shapes_are_what_each_device_holds_and_weight_shards_are_the_plans(string model, int devices, int tokens)
    {
        var plan = PlanOf(model, devices, tokens);
        var svg = XDocument.Parse(plan.ToSvg()).Root!;
        for (int k = 0; k < plan.Steps.Count; k++)
        {
            var step = plan.Steps[k];
            var row = Step(svg, k);
            if (step.To == Placement.Host)
            {
                Assert.Equal($"host [{tokens}×{step.Features}]", row.Descendants(Svg + "text").Single(t => (string?)t.Attribute("class") == "host-shape").Value);
                continue;
            }
            var shapes = Groups(row, "shape").ToArray();
            Assert.Equal(Enumerable.Range(0, devices), shapes.Select(g => (int)g.Attribute("data-device")!));
            foreach (var g in shapes)
            {
                var (rows, cols) = ExpectedShape(plan, k, (int)g.Attribute("data-device")!);
                Assert.Equal($"[{rows}×{cols}]", g.Element(Svg + "text")!.Value);
            }
            var weight = row.Descendants(Svg + "text").SingleOrDefault(t => (string?)t.Attribute("class") == "weight");
            if (step.Type is Steps.ColumnParallel or Steps.RowParallel or Steps.Summa2D && plan.Layers[step.LayerIndex] is Linear linear)
                Assert.Equal($"weight shard [{linear.WeightShardShape.Rows}×{linear.WeightShardShape.Cols}] per device", weight?.Value);
            else
                Assert.Null(weight);
        }
    }

    [Theory]
    [InlineData(nameof(Summa), 4)]
    [InlineData(nameof(SummaTorch), 4)]
    [InlineData(nameof(Mixed), 9)]
    public void A_summa_layer_shows_its_grid_with_row_and_column_collectives(string model, int devices)
    {
        var plan = PlanOf(model, devices, 11);
        string text = plan.ToSvg();
        var svg = XDocument.Parse(text).Root!;
        using var mesh = CpuDeviceMesh.Create(devices); // the runtime's grid: the reference for rows and columns
        var grid = mesh.Grid;
        int summaStep = plan.Steps.Select((s, k) => (s, k)).Single(x => x.s.Type is Steps.Summa2D).k;
        var row = Step(svg, summaStep);

        var inset = Assert.Single(Groups(row, "summa-grid"));
        Assert.Equal(grid.Q, (int)inset.Attribute("data-q")!);
        Assert.Equal(Enumerable.Range(0, devices).OrderBy(r => r), Groups(inset, "grid-cell").Select(c => (int)c.Attribute("data-device")!).OrderBy(r => r));

        var lanes = Groups(svg, "lane-header").ToDictionary(g => (int)g.Attribute("data-device")!, g => (double)g.Elements().First().Attribute("x")!);
        foreach (var r in Enumerable.Range(0, devices))
            Assert.Equal($"row {grid.GridRowOf(r)}, col {grid.GridColumnOf(r)}", Groups(svg, "lane-header").Single(g => (int)g.Attribute("data-device")! == r).Elements().ElementAt(1).Value);
        for (int i = 0; i < grid.Q; i++)
        {
            // Row i's line has a dot in the lane of each member of the mesh's grid row i, and nowhere else.
            var dots = Groups(row, "grid-row").Single(g => (int)g.Attribute("data-row")! == i).Elements(Svg + "circle").ToArray();
            Assert.Equal(grid.RowGroups[i].Members.Select(d => d.Rank).OrderBy(r => r), dots.Select(d => (int)d.Attribute("data-device")!).OrderBy(r => r));
            Assert.All(dots, d => Assert.Equal(lanes[(int)d.Attribute("data-device")!], (double)d.Attribute("cx")!, 1));
            // Column i's bracket spans exactly the lanes of the mesh's grid column i.
            var bracket = Groups(row, "grid-column").Single(g => (int)g.Attribute("data-column")! == i).Element(Svg + "rect")!;
            double left = (double)bracket.Attribute("x")!, right = left + (double)bracket.Attribute("width")!;
            Assert.Equal(grid.ColumnGroups[i].Members.Select(d => d.Rank).OrderBy(r => r), lanes.Where(l => l.Value > left && l.Value < right).Select(l => l.Key).OrderBy(r => r));
        }
        bool transposed = plan.Layers[plan.Steps[summaStep].LayerIndex].Spec.WeightLayout == WeightLayout.OutIn;
        var captions = row.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "grid-caption").Select(t => t.Value).ToArray();
        Assert.Contains(transposed ? "C panels reduced along each grid row" : "A panels broadcast along each grid row", captions);
        Assert.Contains("B panels broadcast down each grid column", captions);

        WriteForRenderScript($"{model}-{devices}-grid", text);
    }

    [Fact]
    public void Drawing_is_deterministic_and_the_same_in_every_culture()
    {
        var plan = TwoBlocksSequenceParallel.PlanFor(4, 13);
        string first = plan.ToSvg();
        Assert.Equal(first, TwoBlocksSequenceParallel.PlanFor(4, 13).ToSvg());
        var culture = Thread.CurrentThread.CurrentCulture;
        try
        {
            Thread.CurrentThread.CurrentCulture = CultureInfo.GetCultureInfo("de-DE"); // "1.234,5" digits
            Assert.Equal(first, plan.ToSvg());
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = culture;
        }
    }

    [Fact]
    public void Model_and_layer_names_are_text_not_markup()
    {
        const string model = "</text><script>alert(1)</script><text>&amp; \"quoted\"";
        const string layer = "Up</text><image href=\"x\"/>";
        var specs = Mlp.LayerSpecs.Select((s, i) => i == 0 ? s with { Name = layer } : s).ToArray();
        var svg = XDocument.Parse(ModelPlan.Create(model, specs, 4, tokens: 8).ToSvg()).Root!;

        Assert.DoesNotContain(svg.Descendants(), e => e.Name.LocalName is "script" or "image");
        Assert.Contains(model, svg.Element(Svg + "title")!.Value);
        Assert.Contains(svg.Descendants(Svg + "text"), t => t.Value.Contains(layer));
    }

    [Fact]
    public void Characters_xml_cannot_hold_become_replacement_characters()
    {
        var svg = XDocument.Parse(ModelPlan.Create("Mlp\u0001\uD800v2", Mlp.LayerSpecs, 2).ToSvg()).Root!;
        Assert.StartsWith("Plan of Mlp\uFFFD\uFFFDv2 on 2 devices", svg.Element(Svg + "title")!.Value);
    }

    // ---- Independent reference ----------------------------------------------------------------------

    /// <summary>
    /// [rows, cols] device <paramref name="rank"/> holds after step <paramref name="k"/>, from the step kind and the layer
    /// declarations (the drawing reads placements and the next step's width instead). Tokens split as
    /// <see cref="EvenRanges"/> documents: the first T mod parts blocks one longer.
    /// </summary>
    private static (int Rows, int Cols) ExpectedShape(ModelPlan plan, int k, int rank)
    {
        var s = plan.Steps[k];
        int t = plan.Tokens, p = plan.Devices, q = plan.GridSide;
        int Split(int total, int parts, int i) => total / parts + (i < total % parts ? 1 : 0);
        int features = s.LayerIndex < 0 ? s.Features : plan.Layers[s.LayerIndex] switch
        {
            Linear l when s.Type is Steps.ColumnParallel or Steps.RowParallel or Steps.Summa2D => l.OutFeatures,
            TransformerBlock b => s.Type switch
            {
                Steps.QkvProjection => b.LocalQkvWidth * p, // each device its own heads' q|k|v
                Steps.Attention => b.Heads * b.HeadDim,
                Steps.MlpUp => b.FfnHidden,
                _ => b.Hidden,
            },
            _ => s.Features,
        };
        return s.To switch
        {
            { Kind: PlacementKind.Replicated } or { Kind: PlacementKind.Partial } => (t, features),
            { Axis: ShardAxis.Features } or { Axis: ShardAxis.Heads } => (t, features / p),
            { Axis: ShardAxis.Tokens } => (Split(t, p, rank), features),
            { Kind: PlacementKind.Grid2D } => (Split(t, q, rank % q), features / q),
            _ => throw new InvalidOperationException($"step {k} ends on {s.To}"),
        };
    }

    /// <summary>docs/render-diagrams.sh sets SHARDGEN_DIAGRAM_DIR to screenshot the drawings the samples do not make.</summary>
    private static void WriteForRenderScript(string name, string svg)
    {
        if (Environment.GetEnvironmentVariable("SHARDGEN_DIAGRAM_DIR") is { Length: > 0 } dir)
            File.WriteAllText(Path.Combine(dir, $"test-{name.ToLowerInvariant()}.svg"), svg);
    }

    private static IEnumerable<XElement> Groups(XElement root, string cls) =>
        root.Descendants(Svg + "g").Where(g => (string?)g.Attribute("class") == cls);

    private static XElement Step(XElement svg, int k) => Groups(svg, "step").Single(g => (int)g.Attribute("data-step")! == k);
}
