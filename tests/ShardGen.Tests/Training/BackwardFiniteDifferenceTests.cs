using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The generated ForwardBackward's gradients against central finite differences of the mean
/// cross-entropy computed in double by <see cref="LanguageModelReference"/> (no runtime code) from the same host
/// weights: a few random elements of every parameter, on meshes whose vocabulary ranges are uneven, with packed
/// sequences, and under sequence parallelism with uneven token shards. Needs no PyTorch.
/// </summary>
public sealed class BackwardFiniteDifferenceTests
{
    // Central differences of a double loss with step h ≈ 1e-3: truncation ~h²·|L'''| ≈ 1e-6 of the gradient, rounding
    // ~1e-16/h. The runtime's float32 backward through two blocks measured within ~5e-6 relative; 2e-5 leaves a margin.
    private const double Tolerance = 2e-5;

    public static IEnumerable<object[]> Cases() =>
    [
        ["TinyLlama tied, q/k/v biases", 2, false, new[] { 3, 4 }],
        ["TinyLlama 4 KV heads", 4, false, new[] { 7 }],
        ["TinyGpt2", 3, false, new[] { 4, 3 }],
        ["TinyLlama 4 KV heads", 4, true, new[] { 2, 5 }],
        ["TinyGpt2", 4, true, new[] { 7 }],
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchFiniteDifferencesOfTheDoubleLoss(string variant, int devices, bool sequenceParallel, int[] lengths)
    {
        var layers = TrainableModels.Layers(variant);
        var plan = ModelPlan.Create("Fd", layers, 1);
        var weights = LanguageModelReference.RandomWeights(plan, seed: devices + lengths.Length);
        var rng = new Random(devices * 7 + lengths[0]);
        int tokens = lengths.Sum();
        var ids = Enumerable.Range(0, tokens).Select(_ => rng.Next(plan.Vocab)).ToArray();
        var targets = Enumerable.Range(0, tokens).Select(_ => rng.Next(plan.Vocab)).ToArray();
        var starts = new int[lengths.Length + 1];
        for (int s = 0; s < lengths.Length; s++) starts[s + 1] = starts[s] + lengths[s];

        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = TrainableModels.Create(mesh, variant.StartsWith("TinyGpt2", StringComparison.Ordinal), sequenceParallel, weights, layers);
        double loss = model.ForwardBackward(ids, targets, lengths) / tokens;
        double expectedLoss = MeanLoss(layers, weights, ids, targets, starts);
        Assert.True(Math.Abs(loss - expectedLoss) <= 1e-5 * expectedLoss, $"loss {loss:R} vs double {expectedLoss:R}");

        var gradients = TrainableModels.Logical(model.Training);
        foreach (var tensor in LanguageModelWeights.Expected(model.Training.Core.Plan))
        {
            var w = weights.Get(tensor.Key)!;
            var g = gradients[tensor.Key];
            var actual = new List<double>();
            var expected = new List<double>();
            for (int n = 0; n < 4; n++)
            {
                int r = rng.Next(tensor.Rows), c = rng.Next(tensor.Cols);
                float saved = w[r, c];
                float up = (float)(saved + 1e-3 * Math.Max(1, Math.Abs(saved))), down = (float)(saved - 1e-3 * Math.Max(1, Math.Abs(saved)));
                w[r, c] = up;
                double lossUp = MeanLoss(layers, weights, ids, targets, starts);
                w[r, c] = down;
                double lossDown = MeanLoss(layers, weights, ids, targets, starts);
                w[r, c] = saved;
                expected.Add((lossUp - lossDown) / ((double)up - down));
                actual.Add(g[r, c]);
            }
            double diff = Math.Sqrt(actual.Zip(expected, (a, e) => (a - e) * (a - e)).Sum());
            double norm = Math.Sqrt(expected.Sum(e => e * e));
            // A gradient that is zero in exact arithmetic (GPT-2's key bias) is held to the scale of a typical one.
            Assert.True(diff <= Tolerance * Math.Max(norm, 1e-3),
                $"{variant} on {devices}{(sequenceParallel ? " (sequence parallel)" : "")}: {tensor.Key} gradient {string.Join(", ", actual.Select(v => v.ToString("G6")))} vs finite differences {string.Join(", ", expected.Select(v => v.ToString("G6")))}");
        }
    }

    /// <summary>Mean cross-entropy of the double reference logits.</summary>
    internal static double MeanLoss(IReadOnlyList<LayerSpec> layers, InMemoryWeights weights, int[] ids, int[] targets, int[] starts)
    {
        var logits = LanguageModelReference.Logits(layers, weights, ids, starts);
        int vocab = logits.GetLength(1);
        double sum = 0;
        for (int t = 0; t < ids.Length; t++)
        {
            double max = double.NegativeInfinity, exps = 0;
            for (int v = 0; v < vocab; v++) max = Math.Max(max, logits[t, v]);
            for (int v = 0; v < vocab; v++) exps += Math.Exp(logits[t, v] - max);
            sum += max + Math.Log(exps) - logits[t, targets[t]];
        }
        return sum / ids.Length;
    }
}
