using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace ShardGen.Samples;

/// <summary>One training run's losses, one per step, and the label its curve gets on a plot.</summary>
public sealed record LossCurve(string Label, IReadOnlyList<double> Losses);

/// <summary>
/// The sample's --loss-out: a CSV `step,loss` (17 significant digits, so a float64 reads back exactly) and a PNG of
/// the curve beside it; several runs can share one plot (the README's P = 1, 2, 4 figure). Each file is written to a
/// temporary name and renamed, so a reader never sees half of one. ScottPlot lives here, not in the runtime package.
/// </summary>
public static class LossLog
{
    public static void WriteCsv(string path, IReadOnlyList<double> losses)
    {
        var text = new StringBuilder("step,loss\n");
        for (int s = 0; s < losses.Count; s++)
            text.Append(CultureInfo.InvariantCulture, $"{s},{losses[s]:G17}\n");
        Replace(path, temporary => File.WriteAllText(temporary, text.ToString()));
    }

    /// <summary>The losses of a CSV written by <see cref="WriteCsv"/> (or by tests/reference/hf_train.py).</summary>
    public static double[] ReadCsv(string path)
    {
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Trim() != "step,loss") throw new InvalidDataException($"{path}: the first line is not 'step,loss'.");
        var losses = new double[lines.Length - 1];
        for (int i = 1; i < lines.Length; i++)
        {
            string[] fields = lines[i].Split(',');
            if (fields.Length != 2 || int.Parse(fields[0], CultureInfo.InvariantCulture) != i - 1)
                throw new InvalidDataException($"{path}: line {i + 1} '{lines[i]}' is not 'step,loss' for step {i - 1}.");
            losses[i - 1] = double.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        return losses;
    }

    /// <summary>A PNG of one or more loss curves against the step.</summary>
    public static void WritePng(string path, IReadOnlyList<LossCurve> curves, int width = 800, int height = 500, string title = "Training loss")
    {
        if (curves.Count == 0) throw new ArgumentException("No curve to plot.", nameof(curves));
        var plot = new ScottPlot.Plot();
        foreach (var curve in curves)
        {
            double[] steps = Enumerable.Range(0, curve.Losses.Count).Select(s => (double)s).ToArray();
            var line = plot.Add.Scatter(steps, curve.Losses.ToArray());
            line.LegendText = curve.Label;
            line.MarkerSize = curve.Losses.Count <= 50 ? 5 : 0;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss (mean cross-entropy)");
        if (curves.Count > 1) plot.ShowLegend();
        Replace(path, temporary => plot.SavePng(temporary, width, height));
    }

    /// <summary>The CSV at <paramref name="csvPath"/> and the PNG beside it (same name, .png); returns the PNG's path.</summary>
    public static string Write(string csvPath, IReadOnlyList<double> losses, string label = "loss")
    {
        WriteCsv(csvPath, losses);
        string png = Path.ChangeExtension(csvPath, ".png");
        WritePng(png, [new LossCurve(label, losses)]);
        return png;
    }

    private static void Replace(string path, Action<string> write)
    {
        string full = Path.GetFullPath(path);
        string temporary = full + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            write(temporary);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
