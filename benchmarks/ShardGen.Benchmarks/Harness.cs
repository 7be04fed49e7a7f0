using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace ShardGen.Benchmarks;

/// <summary>Timing helpers: medians of repetitions, run side by side (interleaved) so drift hits every contender alike.</summary>
internal static class Measure
{
    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Seconds of one call of <paramref name="action"/>: repeats it until <paramref name="minSeconds"/> have passed.</summary>
    public static double Once(Action action, double minSeconds)
    {
        int n = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            action();
            n++;
        } while (clock.Elapsed.TotalSeconds < minSeconds);
        return clock.Elapsed.TotalSeconds / n;
    }

    /// <summary>
    /// Median seconds per call of each contender: <paramref name="repetitions"/> rounds, each timing every contender
    /// once in turn (after one warm-up call each).
    /// </summary>
    public static double[] SideBySide(int repetitions, double minSeconds, params Action[] contenders) =>
        SideBySide(repetitions, minSeconds, contenders, afterSample: null);

    /// <summary>
    /// As the other overload; <paramref name="afterSample"/> gets the contender's index after each of its timed
    /// samples (outside the timing), e.g. to let a library's worker threads go idle before the next contender.
    /// </summary>
    public static double[] SideBySide(int repetitions, double minSeconds, Action[] contenders, Action<int>? afterSample)
    {
        foreach (var c in contenders) c();
        var samples = contenders.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < repetitions; r++)
            for (int i = 0; i < contenders.Length; i++)
            {
                samples[i].Add(Once(contenders[i], minSeconds));
                afterSample?.Invoke(i);
            }
        return samples.Select(Median).ToArray();
    }

    public static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }
}

/// <summary>A plain-text (Markdown) table: printed to the console, pasted into benchmarks/README.md.</summary>
internal sealed class Table
{
    private readonly string[] _headers;
    private readonly List<string[]> _rows = new();

    public Table(string title, params string[] headers)
    {
        Title = title;
        _headers = headers;
    }

    public string Title { get; }

    public List<string> Notes { get; } = new();

    public void Add(params object[] cells) => _rows.Add(cells.Select(Format).ToArray());

    private static string Format(object c) => c switch
    {
        double d when double.IsNaN(d) => "n/a",
        double d => Math.Abs(d) >= 100 ? d.ToString("F0") : Math.Abs(d) >= 10 ? d.ToString("F1") : d.ToString("F2"),
        float f => ((double)f).ToString("F2"),
        long l => l.ToString("N0"),
        int i => i.ToString(),
        _ => c.ToString() ?? "",
    };

    public void Print()
    {
        var widths = _headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => i < r.Length ? r[i].Length : 0))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine($"### {Title}");
        sb.AppendLine();
        sb.AppendLine("| " + string.Join(" | ", _headers.Select((h, i) => h.PadRight(widths[i]))) + " |");
        sb.AppendLine("|" + string.Join("|", widths.Select((w, i) => i == 0 ? new string('-', w + 2) : new string('-', w + 1) + ":")) + "|");
        foreach (var r in _rows)
            sb.AppendLine("| " + string.Join(" | ", r.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))) + " |");
        foreach (var n in Notes) sb.AppendLine().Append(n).AppendLine();
        Console.Write(sb.ToString());
    }
}
