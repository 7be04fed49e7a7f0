using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using ShardGen.Benchmarks.Models;
using ShardGen.Planning;
using ShardGen.Tests.Reference;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `comm-study`: bytes moved per device by 1D (column → row: one all-reduce) and by 2D SUMMA (two
/// SUMMA layers) for two square layers of N features on P = 4, 16, 64 devices, measured by the runtime's byte
/// counters on real meshes (N = 64), next to the plan's prediction and the formulas; plan-only rows for N = 4096.
/// Writes benchmarks/comm-study.dat and, with gnuplot, benchmarks/comm-study.png.
/// </summary>
internal static class CommStudySuite
{
    public static void Run(Options o)
    {
        var table = new Table("comm-study: bytes per device, 1D column→row vs 2D SUMMA, two square N×N layers",
            "P", "N", "T", "T/N", "source", "1D B/dev", "1D formula", "2D B/dev", "2D formula", "2D / 1D", "plan = measured");
        var points = new List<(int P, double TN, double Ratio, bool Measured)>();
        int[] ps = { 4, 16, 64 };
        foreach (int p in ps)
        {
            using var mesh = DeviceMesh.CreateCpu(p);
            using var m1 = Square1D.Create(mesh, Square1D.Weights.Random(1));
            using var m2 = Square2D.Create(mesh, Square2D.Weights.Random(2));
            foreach (int t in new[] { 2, 4, 8, 16, 32, 64, 128, 256 })
            {
                var x = ReferenceMath.RandomMatrix(new Random(t), t, 64);
                m1.Forward(x);
                double b1 = m1.LastForward!.AverageBytesPerDevice;
                m2.Forward(x);
                double b2 = m2.LastForward!.AverageBytesPerDevice;
                bool same = b1 == m1.Plan.PredictedBytesPerDevice(t) && b2 == m2.Plan.PredictedBytesPerDevice(t);
                Add(table, p, 64, t, "measured", b1, b2, same ? "yes" : "NO");
                points.Add((p, t / 64.0, b2 / b1, true));
            }
        }
        // The same study at a real hidden size, from the plan (the counters agree with it exactly above).
        foreach (int p in ps)
        {
            var (one, two) = Plans(4096, p);
            foreach (int t in new[] { 1, 128, 512, 1024, 2048, 8192, 32768 })
            {
                double b1 = one.PredictedBytesPerDevice(t), b2 = two.PredictedBytesPerDevice(t);
                Add(table, p, 4096, t, "plan", b1, b2, "-");
                points.Add((p, t / 4096.0, b2 / b1, false));
            }
        }
        table.Notes.Add("1D formula: 2(P−1)/P·T·N·4 (one ring all-reduce). 2D formula: 2 layers × (q−1)/P·(T·N + N·N)·4 (SUMMA broadcasts " +
                        "panels of X along grid rows and of W along grid columns), q = √P. So 2D/1D = (1 + N/T)/(q + 1): 2D moves less " +
                        "only when T/N > 1/√P (T/N > 1/2, 1/4, 1/8 for P = 4, 16, 64), and at most 2/(q+1) of 1D at T = N. " +
                        "\"2D always moves less\" holds only for large batches: for one token (decode) SUMMA moves N/T·(q−1)/(P−1) ≈ N/(q+1) times more.");
        WriteChart(points);
        table.Print();
    }

    /// <summary>Plans of the measured models' layers widened to <paramref name="n"/> features, on <paramref name="p"/> devices.</summary>
    private static (ModelPlan OneD, ModelPlan TwoD) Plans(int n, int p) =>
        (Widened(nameof(Square1D), Square1D.LayerSpecs, n, p), Widened(nameof(Square2D), Square2D.LayerSpecs, n, p));

    private static ModelPlan Widened(string model, IReadOnlyList<LayerSpec> layers, int n, int p) =>
        ModelPlan.Create(model, layers.Select(l => l with { InFeatures = n, OutFeatures = n }).ToArray(), p);

    private static void Add(Table table, int p, int n, int t, string source, double b1, double b2, string same)
    {
        int q = (int)Math.Round(Math.Sqrt(p));
        double f1 = 2.0 * (p - 1) / p * t * n * 4, f2 = 2.0 * (q - 1) / p * ((double)t * n + (double)n * n) * 4;
        table.Add(p, n, t, ((double)t / n).ToString(t >= n ? "F0" : "0.####", CultureInfo.InvariantCulture), source,
            (long)b1, (long)f1, (long)b2, (long)f2, b2 / b1, same);
    }

    private static void WriteChart(List<(int P, double TN, double Ratio, bool Measured)> points)
    {
        string dir = FindBenchmarksDir();
        var dat = new StringBuilder("# P T/N ratio_2D_over_1D measured(1)/plan(0)\n");
        foreach (var group in points.GroupBy(x => x.P))
        {
            foreach (var pt in group.OrderBy(x => x.TN)) dat.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{pt.P} {pt.TN} {pt.Ratio} {(pt.Measured ? 1 : 0)}"));
            dat.AppendLine().AppendLine();
        }
        File.WriteAllText(Path.Combine(dir, "comm-study.dat"), dat.ToString());
        // Paths relative to benchmarks/ (gnuplot runs there) so the committed script is the same on every machine.
        var plot = new StringBuilder();
        plot.AppendLine("set terminal pngcairo size 900,560 font 'sans,11' noenhanced");
        plot.AppendLine("set output 'comm-study.png'");
        plot.AppendLine("set title 'Bytes per device, 2D SUMMA / 1D column-row (two square N x N layers)'");
        plot.AppendLine("set xlabel 'tokens / features (T/N)'; set ylabel '2D bytes / 1D bytes'");
        plot.AppendLine("set logscale xy; set grid; set key top right");
        plot.AppendLine("set xrange [1e-4:16]; set yrange [0.1:2000]");
        plot.AppendLine("f(x, q) = (1 + 1/x) / (q + 1)");
        plot.AppendLine("plot 1 with lines dt 2 lc 'black' title 'equal bytes', \\");
        plot.AppendLine("  for [i=0:2] 'comm-study.dat' index i using ($4==1 ? $2 : 1/0):3 with points pt 7 ps 1.2 lc i+1 title sprintf('P=%d measured (N=64)', 4**(i+1)), \\");
        plot.AppendLine("  for [i=0:2] 'comm-study.dat' index i using ($4==0 ? $2 : 1/0):3 with points pt 6 ps 1.5 lc i+1 title sprintf('P=%d plan (N=4096)', 4**(i+1)), \\");
        plot.AppendLine("  f(x, 2) lc 1 title '(1+N/T)/(q+1), q=2', f(x, 4) lc 2 title 'q=4', f(x, 8) lc 3 title 'q=8'");
        File.WriteAllText(Path.Combine(dir, "comm-study.gnuplot"), plot.ToString());
        try
        {
            using var gp = Process.Start(new ProcessStartInfo("gnuplot", "comm-study.gnuplot")
            {
                WorkingDirectory = dir,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            // Read stderr to its end first: waiting before reading could block on a full pipe.
            string err = gp!.StandardError.ReadToEnd();
            gp.WaitForExit();
            Console.WriteLine(gp.ExitCode == 0 ? $"chart: {Path.Combine(dir, "comm-study.png")}" : $"gnuplot failed: {err}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.WriteLine("chart: gnuplot not installed (benchmarks/setup.sh installs it); data in comm-study.dat");
        }
    }

    private static string FindBenchmarksDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ShardGen.sln"))) dir = dir.Parent;
        return dir == null ? Directory.GetCurrentDirectory() : Path.Combine(dir.FullName, "benchmarks");
    }
}
