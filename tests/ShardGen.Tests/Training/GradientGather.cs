using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Planning;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// Every device's gradient slices (training.Gradients: key, region, device view) put back together as the checkpoint's
/// tensors, by the checkpoint name table: name → float64 values in the stored layout ([out, in] for LLaMA's linears,
/// GPT-2's fused c_attn with q, k and v side by side), as hf_train.py's `grads` writes them.
/// </summary>
internal static class GradientGather
{
    /// <summary>
    /// The gradients by Hugging Face name. Replicas of a region (replicated parameters) must agree: the largest
    /// difference between copies, relative to the tensor's largest value, is returned.
    /// </summary>
    public static (Dictionary<string, double[]> ByName, double ReplicaSpread) ByName(ModelTraining training, string checkpointDirectory,
        IReadOnlyList<LayerSpec> declared)
    {
        using var checkpoint = Checkpoint.Open(checkpointDirectory);
        var layers = ConfigResolver.Resolve(declared, checkpoint.Config);
        string prefix = checkpoint.Contains("wte.weight") && !checkpoint.Contains("transformer.wte.weight") ? "" : "transformer.";
        var maps = HuggingFaceNames.For(checkpoint.Config.Family, layers, LanguageModelLayers.Of(layers), prefix).ToDictionary(m => m.Key);

        var byName = new Dictionary<string, double[]>();
        var filled = new Dictionary<(WeightKey, int, int), float[]>();
        double spread = 0;
        foreach (var slice in training.Gradients)
        {
            var map = maps[slice.Key];
            var host = new float[slice.Rows * slice.Cols];
            slice.Download(host);
            if (filled.TryGetValue((slice.Key, slice.Row0, slice.Col0), out var replica))
            {
                double scale = Math.Max(1e-30, replica.Max(v => Math.Abs((double)v)));
                spread = Math.Max(spread, replica.Zip(host, (a, b) => Math.Abs((double)a - b)).Max() / scale);
                continue;
            }
            filled[(slice.Key, slice.Row0, slice.Col0)] = host;
            long size = map.StoredShape.Aggregate(1L, (a, b) => a * b);
            if (!byName.TryGetValue(map.Name, out var stored)) byName[map.Name] = stored = new double[size];
            int storedCols = (int)map.StoredShape[^1];
            for (int r = 0; r < slice.Rows; r++)
                for (int c = 0; c < slice.Cols; c++)
                {
                    int lr = slice.Row0 + r, lc = slice.Col0 + c;   // logical [in, out]
                    long at = map.Transposed ? (long)lc * map.Rows + lr : (long)lr * storedCols + map.Col0 + lc;
                    stored[at] = host[r * slice.Cols + c];
                }
        }
        return (byName, spread);
    }

    /// <summary>‖a − b‖ / ‖b‖.</summary>
    public static double RelativeError(double[] actual, double[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return Math.Sqrt(diff / norm);
    }

    public static double Norm(double[] x) => Math.Sqrt(x.Sum(v => v * v));
}
