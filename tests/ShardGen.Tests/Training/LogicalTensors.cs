using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// Whole logical tensors of a model's slices, on the host in double: read from the devices (each region from any one
/// replica, checking that replicas agree) and written to every slice of a region, replicas included.
/// </summary>
internal static class LogicalTensors
{
    /// <summary>[rows, cols] of every tensor the slices cover.</summary>
    public static Dictionary<WeightKey, (int Rows, int Cols)> Shapes(IReadOnlyList<ParameterSlice> slices) =>
        slices.GroupBy(s => s.Key).ToDictionary(g => g.Key, g => (g.Max(s => s.Row0 + s.Rows), g.Max(s => s.Col0 + s.Cols)));

    /// <summary>Every tensor, row-major; a replica that differs from the first copy of its region fails.</summary>
    public static Dictionary<WeightKey, double[]> Read(IReadOnlyList<ParameterSlice> slices)
    {
        var shapes = Shapes(slices);
        var result = shapes.ToDictionary(p => p.Key, p => Enumerable.Repeat(double.NaN, p.Value.Rows * p.Value.Cols).ToArray());
        foreach (var s in slices)
        {
            var host = new float[s.Rows * s.Cols];
            s.Download(host);
            var t = result[s.Key];
            int cols = shapes[s.Key].Cols;
            for (int r = 0; r < s.Rows; r++)
                for (int c = 0; c < s.Cols; c++)
                {
                    int at = (s.Row0 + r) * cols + s.Col0 + c;
                    Assert.True(double.IsNaN(t[at]) || t[at] == host[r * s.Cols + c], $"{s.Key} [{s.Row0 + r}, {s.Col0 + c}]: replicas differ ({t[at]} vs {host[r * s.Cols + c]})");
                    t[at] = host[r * s.Cols + c];
                }
        }
        foreach (var (key, t) in result) Assert.False(t.Any(double.IsNaN), $"{key} is not covered by the slices");
        return result;
    }

    /// <summary>Uploads each tensor's regions to every slice that holds them (float32).</summary>
    public static void Write(IReadOnlyList<ParameterSlice> slices, Dictionary<WeightKey, double[]> tensors)
    {
        var shapes = Shapes(slices);
        foreach (var s in slices)
        {
            var host = new float[s.Rows * s.Cols];
            int cols = shapes[s.Key].Cols;
            for (int r = 0; r < s.Rows; r++)
                for (int c = 0; c < s.Cols; c++)
                    host[r * s.Cols + c] = (float)tensors[s.Key][(s.Row0 + r) * cols + s.Col0 + c];
            s.Upload(host);
        }
    }

    /// <summary>Random float32-representable values of the slices' shapes (scale × standard normal).</summary>
    public static Dictionary<WeightKey, double[]> Random(IReadOnlyList<ParameterSlice> slices, int seed, double scale)
    {
        var random = new Random(seed);
        return Shapes(slices).OrderBy(p => p.Key.Layer).ThenBy(p => p.Key.Block).ThenBy(p => p.Key.Role).ToDictionary(p => p.Key,
            p => Enumerable.Range(0, p.Value.Rows * p.Value.Cols)
                .Select(_ => (double)(float)(scale * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray());
    }

    /// <summary>The model's training state.</summary>
    public static ModelTraining TrainingOf(ILanguageModel model) => ((ITrainableLanguageModel)model).Training;
}
