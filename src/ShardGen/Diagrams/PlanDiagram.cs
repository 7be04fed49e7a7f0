using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Xml.Linq;
using ShardGen.Collectives;
using ShardGen.Planning;
using static ShardGen.Diagrams.DiagramPalette;
using static ShardGen.Diagrams.SvgElements;

namespace ShardGen.Diagrams;

/// <summary>
/// Draws a <see cref="ModelPlan"/> as SVG: one vertical lane per device, one row per step (top to bottom) with the
/// activation shape each device holds after it, collectives as bands across the lanes they involve, SUMMA's grid
/// rows and columns, a title and a legend. Built with <see cref="XElement"/> so every text is escaped; numbers use
/// invariant digits, so the same plan always gives the same bytes.
/// </summary>
internal sealed class PlanDiagram
{
    private const double Margin = 16, SmallFont = 11, BoxHeight = 22, BandHeight = 20, Gap = 6;
    private const double CellSize = 22; // a device in the SUMMA grid inset

    private readonly ModelPlan _plan;
    private IReadOnlyList<string>[]? _descriptions; // the catalog's words per step, made once
    private readonly int _p, _q;
    private readonly bool _grid; // the plan has a Summa2D layer: lanes are labelled and grouped by grid position
    private readonly double _stepWidth, _laneWidth, _lanesLeft;
    private readonly List<XElement> _rows = new();
    private readonly HashSet<Placement> _placementsUsed = new();
    private readonly SortedSet<CollectiveKind> _kindsUsed = new();
    private double _legendRight;

    private PlanDiagram(ModelPlan plan)
    {
        _plan = plan;
        _p = plan.Devices;
        _q = plan.GridSide;
        _grid = _q > 0 && plan.Layers.Any(l => l.Spec.Strategy == ParallelStrategy.Summa2D);

        _stepWidth = Math.Max(240, plan.Steps.Select((_, k) => Math.Max(TextWidth($"{k + 1}  {Describe(k)}", FontSize),
            TextWidth(WeightLine(k) ?? "", SmallFont))).DefaultIfEmpty(0).Max() + 16);
        // A lane fits the widest shape box; the lanes together fit every band's label.
        double shapes = Enumerable.Range(0, plan.Steps.Count).SelectMany(k => Enumerable.Range(0, _p)
            .Select(r => TextWidth(ShardShapes.Text(ShardShapes.After(plan, k, r)), FontSize))).DefaultIfEmpty(0).Max();
        double bands = plan.Steps.Select(s => StepTraffic.Of(plan, s)).Where(t => t is not null)
            .Select(t => TextWidth(t!.Label(), FontSize) + 24).DefaultIfEmpty(0).Max();
        _laneWidth = Math.Ceiling(Math.Max(Math.Max(110, shapes + 28), bands / _p));
        _lanesLeft = Margin + _stepWidth;
    }

    public static string Draw(ModelPlan plan) => new PlanDiagram(plan).Render();

    private string Render()
    {
        var (titleLines, top) = Title();
        double y = top;
        var header = Headers(ref y);
        double lanesTop = y;
        for (int k = 0; k < _plan.Steps.Count; k++) y = Row(k, y);
        double lanesBottom = y;
        var legend = Legend(ref y);
        double width = Math.Ceiling(Math.Max(Math.Max(LanesRight, _legendRight) + Margin, WidestTitle(titleLines) + 2 * Margin));

        var root = new XElement(Svg + "svg",
            new XAttribute("width", N(width)), new XAttribute("height", N(Math.Ceiling(y + Margin))),
            new XAttribute("viewBox", $"0 0 {N(width)} {N(Math.Ceiling(y + Margin))}"),
            new XAttribute("font-family", "DejaVu Sans, Verdana, Arial, sans-serif"), new XAttribute("font-size", N(FontSize)),
            new XElement(Svg + "title", Printable(titleLines[0])),
            Rect(0, 0, width, Math.Ceiling(y + Margin), "#ffffff", null));
        foreach (var t in titleLines.Select((line, i) => Text(Margin, 24 + i * 20, line, i == 0 ? 16 : 13, i == 0 ? "bold" : null)))
            root.Add(t);
        root.Add(Lanes(lanesTop, lanesBottom), header, _rows, legend);
        return Write(root);
    }

    // ---- Title and headers ---------------------------------------------------------------------------

    private (string[] Lines, double Bottom) Title()
    {
        var p = _plan;
        string grid = _grid ? $" ({_q}×{_q} grid)" : "";
        string sp = p.SequenceParallel ? ", sequence parallel" : "";
        var calls = Enum.GetValues<CollectiveKind>().Select(k => (k, c: p.PredictedCalls(k))).Where(x => x.c > 0)
            .Select(x => I($"{x.c} {TrafficReport.KindText(x.k)}{(x.c == 1 ? "" : "s")}")).ToArray();
        string traffic = calls.Length == 0 ? "no collectives" : string.Join(", ", calls);
        return (new[]
        {
            I($"Plan of {p.ModelName} on {p.Devices} device{(p.Devices == 1 ? "" : "s")}{grid}{sp}, T = {p.Tokens} tokens (float32)"),
            $"per forward: {traffic}; {StepTraffic.BytesText(p.PredictedBytesPerDevice(p.Tokens))} B per device, " +
            $"{StepTraffic.BytesText(p.PredictedTotalBytes(p.Tokens))} B in total",
        }, 24 + 20 + 18);
    }

    private static double WidestTitle(string[] lines) => Math.Max(TextWidth(lines[0], 16, bold: true), TextWidth(lines[1], 13));

    /// <summary>Lane headers "device r" (with grid position and grid-column groups for 2D plans) over the step column's header.</summary>
    private XElement Headers(ref double y)
    {
        var g = Group("headers");
        if (_grid)
        {
            for (int j = 0; j < _q; j++)
            {
                double left = LaneLeft(j * _q) + 4, right = LaneLeft(j * _q + _q - 1) + _laneWidth - 4;
                g.Add(Line(left, y + 14, right, y + 14, "#6b7280", 1.5));
                g.Add(Text((left + right) / 2, y + 10, I($"grid column {j}"), SmallFont, null, "middle", "#374151"));
            }
            y += 22;
        }
        g.Add(Text(Margin, y + 13, "step", FontSize, "bold"));
        for (int r = 0; r < _p; r++)
        {
            var lane = Group("lane-header", ("data-device", r));
            lane.Add(Text(LaneCenter(r), y + 13, I($"device {r}"), FontSize, "bold", "middle"));
            if (_grid) lane.Add(Text(LaneCenter(r), y + 28, I($"row {r % _q}, col {r / _q}"), SmallFont, null, "middle", "#4b5563"));
            g.Add(lane);
        }
        y += _grid ? 38 : 24;
        return g;
    }

    /// <summary>One background stripe per device, drawn under the rows.</summary>
    private XElement Lanes(double top, double bottom)
    {
        var g = Group("lanes");
        for (int r = 0; r < _p; r++)
        {
            var lane = Group("lane", ("data-device", r));
            lane.Add(Rect(LaneLeft(r) + 2, top - 4, _laneWidth - 4, bottom - top + 4, r % 2 == 0 ? "#f3f4f6" : "#f9fafb", null, 4));
            g.Add(lane);
        }
        return g;
    }

    // ---- Step rows ------------------------------------------------------------------------------------

    /// <summary>Draws step <paramref name="k"/> from <paramref name="top"/>; returns the next row's top.</summary>
    private double Row(int k, double top)
    {
        var step = _plan.Steps[k];
        var row = Group("step", ("data-step", k));
        row.Add(Text(Margin, top + 15, I($"{k + 1}"), FontSize, "bold", null, "#6b7280"));
        row.Add(Text(Margin + 22, top + 15, Describe(k), FontSize));
        double left = top + 20;
        if (WeightLine(k) is { } weights)
        {
            row.Add(Text(Margin + 22, left + 12, weights, SmallFont, null, null, "#4b5563", "weight"));
            left += 16;
        }

        double y = top + 4;
        var traffic = StepTraffic.Of(_plan, step);
        if (traffic is not null)
        {
            foreach (var c in traffic.Calls) _kindsUsed.Add(c.Kind);
            row.Add(Band(traffic, y));
            y += BandHeight + Gap;
            if (traffic.Groups == TrafficGroups.Summa)
            {
                bool transposed = _plan.Layers[step.LayerIndex].Spec.WeightLayout == WeightLayout.OutIn;
                y = transposed
                    ? GridRows(row, y, "C panels reduced along each grid row", CollectiveKind.Reduce)
                    : GridRows(row, y, "A panels broadcast along each grid row", CollectiveKind.Broadcast);
                y = GridColumns(row, y, "B panels broadcast down each grid column", CollectiveKind.Broadcast);
                left = Inset(row, left);
            }
            else if (traffic.Groups != TrafficGroups.Mesh)
            {
                var kind = traffic.Calls[0].Kind;
                y = GridColumns(row, y, "inside each grid column", kind);
                if (traffic.Groups == TrafficGroups.GridColumnsThenRows) y = GridRows(row, y, "then inside each grid row", kind);
            }
        }
        y = Shapes(row, k, y);
        _rows.Add(row);
        double bottom = Math.Max(y, left) + 6;
        _rows.Add(Line(Margin, bottom - 3, LanesRight, bottom - 3, "#e5e7eb", 1));
        return bottom;
    }

    /// <summary>The band across the participating lanes: the collectives' kinds, calls and the plan's bytes per device.</summary>
    private XElement Band(StepTraffic traffic, double y)
    {
        var kind = traffic.Calls[0].Kind;
        var band = Group("band", ("data-kind", TrafficReport.KindText(kind)), ("data-bytes-per-device", StepTraffic.BytesText(traffic.BytesPerDevice)));
        band.Add(Rect(LaneLeft(0) + 4, y, LanesRight - LaneLeft(0) - 8, BandHeight, KindFill(kind), KindStroke(kind), 10));
        band.Add(Text((LaneLeft(0) + LanesRight) / 2, y + 14, traffic.Label(), FontSize, "bold", "middle", "#111827"));
        return band;
    }

    /// <summary>One line per grid row through its devices' lanes (ranks i, i+q, …), under a caption.</summary>
    private double GridRows(XElement row, double y, string caption, CollectiveKind kind)
    {
        row.Add(Text(LaneLeft(0) + 8, y + 10, caption, SmallFont, null, null, "#374151", "grid-caption"));
        y += 16;
        for (int i = 0; i < _q; i++)
        {
            double ly = y + 5 + i * 14;
            var g = Group("grid-row", ("data-row", i));
            g.Add(Line(LaneCenter(i), ly, LaneCenter(i + (_q - 1) * _q), ly, KindStroke(kind), 2));
            for (int j = 0; j < _q; j++)
                g.Add(Circle(LaneCenter(i + j * _q), ly, 4, KindStroke(kind), new XAttribute("data-device", i + j * _q)));
            g.Add(Text(LaneCenter(i) - 8, ly + 4, I($"row {i}"), SmallFont, null, "end", KindStroke(kind)));
            row.Add(g);
        }
        return y + _q * 14 + 2;
    }

    /// <summary>A bracket over each grid column's lanes (ranks jq … jq+q−1 are adjacent), under a caption.</summary>
    private double GridColumns(XElement row, double y, string caption, CollectiveKind kind)
    {
        row.Add(Text(LaneLeft(0) + 8, y + 10, caption, SmallFont, null, null, "#374151", "grid-caption"));
        y += 16;
        for (int j = 0; j < _q; j++)
        {
            double left = LaneLeft(j * _q) + 8, right = LaneLeft(j * _q + _q - 1) + _laneWidth - 8;
            var g = Group("grid-column", ("data-column", j));
            g.Add(Rect(left, y, right - left, 16, KindFill(kind), KindStroke(kind), 8));
            g.Add(Text((left + right) / 2, y + 12, I($"column {j}"), SmallFont, null, "middle", "#111827"));
            row.Add(g);
        }
        return y + 16 + Gap;
    }

    /// <summary>The q×q grid under a SUMMA step's description: each cell is a device, at (row r mod q, column r div q).</summary>
    private double Inset(XElement row, double y)
    {
        var g = Group("summa-grid", ("data-q", _q));
        g.Add(Text(Margin + 22, y + 12, I($"{_q}×{_q} device grid"), SmallFont, null, null, "#374151"));
        double x0 = Margin + 22 + 40, y0 = y + 32;
        for (int j = 0; j < _q; j++) g.Add(Text(x0 + j * CellSize + CellSize / 2, y0 - 2, I($"c{j}"), 10, null, "middle", "#6b7280"));
        for (int i = 0; i < _q; i++)
        {
            g.Add(Text(x0 - 6, y0 + 4 + i * CellSize + CellSize / 2, I($"r{i}"), 10, null, "end", "#6b7280"));
            for (int j = 0; j < _q; j++)
            {
                double cx = x0 + j * CellSize, cy = y0 + 4 + i * CellSize;
                var cell = Group("grid-cell", ("data-device", i + j * _q));
                cell.Add(Rect(cx, cy, CellSize - 2, CellSize - 2, "#fef3c7", "#b45309", 3));
                cell.Add(Text(cx + CellSize / 2 - 1, cy + 15, I($"{i + j * _q}"), 10, null, "middle"));
                g.Add(cell);
            }
        }
        row.Add(g);
        return y0 + 4 + _q * CellSize + 4;
    }

    /// <summary>The shard each device holds after step <paramref name="k"/>; a download is one box for the host.</summary>
    private double Shapes(XElement row, int k, double y)
    {
        var step = _plan.Steps[k];
        _placementsUsed.Add(step.To);
        if (step.To == Placement.Host)
        {
            var shape = ShardShapes.Text(ShardShapes.After(_plan, k, 0));
            row.Add(Rect(LaneLeft(0) + 8, y, LanesRight - LaneLeft(0) - 16, BoxHeight, PlacementFill(step.To), "#6b7280", 4));
            row.Add(Text((LaneLeft(0) + LanesRight) / 2, y + 15, $"host {shape}", FontSize, null, "middle", null, "host-shape"));
            return y + BoxHeight;
        }
        for (int r = 0; r < _p; r++)
        {
            var box = Group("shape", ("data-device", r));
            box.Add(Rect(LaneLeft(r) + 10, y, _laneWidth - 20, BoxHeight, PlacementFill(step.To), "#9ca3af", 4));
            box.Add(Text(LaneCenter(r), y + 15, ShardShapes.Text(ShardShapes.After(_plan, k, r)), FontSize, null, "middle"));
            row.Add(box);
        }
        return y + BoxHeight;
    }

    // ---- Legend -------------------------------------------------------------------------------------

    private XElement Legend(ref double y)
    {
        var g = Group("legend");
        y += 14;
        g.Add(Text(Margin, y + 12, "Legend", FontSize, "bold"));
        y += 20;
        var items = PlacementOrder.Where(_placementsUsed.Contains).Select(l => (Fill: PlacementFill(l), Stroke: "#9ca3af", Label: $"box: {PlacementText(l)}"))
            .Concat(_kindsUsed.Select(k => (Fill: KindFill(k), Stroke: KindStroke(k), Label: $"band: {TrafficReport.KindText(k)}"))).ToArray();
        // Equal cells, as many to a line as the lanes' width allows: the legend lines up in columns.
        double w = 22 + items.Max(i => TextWidth(i.Label, SmallFont)) + 16, x = Margin;
        double right = Math.Max(LanesRight, Margin + 3 * w);
        foreach (var (fill, stroke, label) in items)
        {
            if (x + w > right && x > Margin) { x = Margin; y += 20; }
            g.Add(Rect(x, y, 16, 14, fill, stroke, 3));
            g.Add(Text(x + 22, y + 11, label, SmallFont));
            x += w;
            _legendRight = Math.Max(_legendRight, x);
        }
        y += 22;
        foreach (var note in new[]
        {
            "Boxes: the activation [tokens×features] each device holds after the step, coloured by its placement.",
            "Bands: the step's collectives across the devices they involve, with the plan's bytes per device (total / P).",
        })
        {
            g.Add(Text(Margin, y + 11, note, SmallFont, null, null, "#374151"));
            _legendRight = Math.Max(_legendRight, Margin + TextWidth(note, SmallFont));
            y += 16;
        }
        return g;
    }

    // ---- Words ------------------------------------------------------------------------------------------

    /// <summary>
    /// The first line of the step's words as <c>model.Plan</c> prints them (one wording everywhere); the punctuation that
    /// led into the next line goes, as the drawing shows one line.
    /// </summary>
    private string Describe(int k) => (_descriptions ??= PlanFormatter.Describe(_plan))[k][0].TrimEnd(':', ',', ';', ' ');

    /// <summary>"weight shard [r×c] per device" under a linear layer's launch; null for other steps.</summary>
    private string? WeightLine(int k)
    {
        if (k >= _plan.Steps.Count) return null;
        var s = _plan.Steps[k];
        if (s.LayerIndex < 0 || _plan.Layers[s.LayerIndex] is not Linear l || s.IsInPlace) return null; // a launch, not its epilogue
        return $"weight shard {ShardShapes.Text(l.WeightShardShape)} per device";
    }

    // ---- Geometry ---------------------------------------------------------------------------------------

    private double LaneLeft(int rank) => _lanesLeft + rank * _laneWidth;
    private double LaneCenter(int rank) => LaneLeft(rank) + _laneWidth / 2;
    private double LanesRight => LaneLeft(_p);
}
