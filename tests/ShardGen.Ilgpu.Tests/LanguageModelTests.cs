using System;
using System.Linq;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// The generated language models on ILGPU CPU-accelerator meshes: the same runtime steps over the ILGPU kernels (lookup,
/// rotary, gated activation, cached attention, uneven logit shards) against the double-precision reference, and cache
/// decoding against recomputation.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class LanguageModelTests
{
    [Theory]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    public void Language_models_match_reference_and_decode_with_the_cache(bool gpt2, int devices)
    {
        var mesh = IlgpuMeshes.Cpu(devices);
        var layers = gpt2 ? TinyGpt2.LayerSpecs : TinyLlama.LayerSpecs;
        var weights = LanguageModelReference.RandomWeights(gpt2 ? TinyGpt2.PlanFor(1) : TinyLlama.PlanFor(1), devices);
        using ILanguageModel model = gpt2 ? TinyGpt2.Create(mesh, weights) : TinyLlama.Create(mesh, weights);
        var rng = new Random(devices);
        var ids = Enumerable.Range(0, 6).Select(_ => rng.Next(1003)).ToArray();
        var logits = model.Forward(ids, null);
        double error = ReferenceMath.RelativeError(logits, LanguageModelReference.Logits(layers, weights, ids, new[] { 0, 6 }));
        Assert.True(error < 1e-4, $"relative error {error:E2}");

        using var cache = model.CreateCache(8);
        model.Forward(ids.Take(5).ToArray(), cache);
        var step = model.Forward(new[] { ids[5] }, cache);
        double diff = 0, max = 0;
        for (int v = 0; v < step.GetLength(1); v++)
        {
            diff = Math.Max(diff, Math.Abs(step[0, v] - logits[5, v]));
            max = Math.Max(max, Math.Abs(logits[5, v]));
        }
        Assert.True(diff <= 1e-5 * max, $"cache decode differs from the full pass by {diff / max:E2}");
    }
}
