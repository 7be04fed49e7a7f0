#:package ScottPlot@5.1.59
// Plots loss CSVs (`step,loss`, as samples/Train's --loss-out writes them) as curves on one PNG:
//   dotnet run docs/plot-losses.cs -- OUT.png LABEL=FILE.csv [LABEL=FILE.csv …]
// docs/train-loss-curves.sh makes the README's figure with it.
using System;
using System.Globalization;
using System.IO;
using System.Linq;

if (args.Length < 2 || args.Skip(1).Any(a => !a.Contains('=')))
{
    Console.Error.WriteLine("usage: dotnet run docs/plot-losses.cs -- OUT.png LABEL=FILE.csv [LABEL=FILE.csv …]");
    return 2;
}
var plot = new ScottPlot.Plot();
int index = 0;
foreach (string curve in args.Skip(1))
{
    string label = curve[..curve.LastIndexOf('=')], file = curve[(curve.LastIndexOf('=') + 1)..];   // labels may hold '=' (P = 1)
    var rows = File.ReadAllLines(file).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToArray();
    double[] steps = rows.Select(r => double.Parse(r[0], CultureInfo.InvariantCulture)).ToArray();
    double[] losses = rows.Select(r => double.Parse(r[1], CultureInfo.InvariantCulture)).ToArray();
    var line = plot.Add.Scatter(steps, losses);
    line.LegendText = label;
    line.MarkerSize = 0;
    line.LineWidth = Math.Max(1.5f, 7 - 2.5f * index++);   // wide to narrow: curves that coincide stay visible
}
plot.Title("samples/Train: the same loss on 1, 2 and 4 devices");
plot.XLabel("step");
plot.YLabel("loss (mean cross-entropy)");
plot.ShowLegend(ScottPlot.Alignment.UpperRight);
plot.SavePng(args[0], 800, 500);
Console.WriteLine(args[0]);
return 0;
