using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.EndToEnd;

/// <summary>
/// Every generated model, on every device count it supports, matches the test's own double-precision
/// reference on fresh random inputs, for token counts including 1 and primes.
/// </summary>
public class ShardedForwardMatchesReferenceTests
{
    private const double Tolerance = 1e-4;
    private static readonly int[] TokenCounts = { 1, 7, 16, 31 };

    public static IEnumerable<object[]> OneDimensionalCases() =>
        from m in ModelCase.OneDimensional from p in new[] { 1, 2, 4, 8 } select new object[] { m, p };

    public static IEnumerable<object[]> TwoDimensionalCases() =>
        from m in ModelCase.TwoDimensional from q in new[] { 1, 2, 3 } select new object[] { m, q * q };

    [Theory]
    [MemberData(nameof(OneDimensionalCases))]
    [MemberData(nameof(TwoDimensionalCases))]
    public void Forward_matches_double_precision_reference(ModelCase model, int devices)
    {
        int seed = Random.Shared.Next();
        var rng = new Random(seed);
        using var mesh = DeviceMesh.CreateCpu(devices);
        var (sharded, weights) = model.Create(mesh, seed);
        using (sharded)
        {
            foreach (int tokens in TokenCounts)
            {
                var x = ReferenceMath.RandomMatrix(rng, tokens, model.Specs[0].InFeatures);
                var y = sharded.Forward(x);
                double error = ReferenceMath.RelativeError(y, model.Reference(weights, x));
                Assert.True(error < Tolerance,
                    $"{model} on {devices} devices, {tokens} tokens: relative error {error:E2} ≥ {Tolerance:E0} (seed {seed}).");
            }
        }
    }

    [Fact]
    public void Two_threads_per_device_give_the_reference_result()
    {
        int seed = Random.Shared.Next();
        using var mesh = DeviceMesh.CreateCpu(2, threadsPerDevice: 2);
        var (sharded, weights) = ModelCase.Mlp.Create(mesh, seed);
        using (sharded)
        {
            var x = ReferenceMath.RandomMatrix(new Random(seed), 33, 64);
            double error = ReferenceMath.RelativeError(sharded.Forward(x), ModelCase.Mlp.Reference(weights, x));
            Assert.True(error < Tolerance, $"relative error {error:E2} (seed {seed})");
        }
    }

    [Fact]
    public void Repeated_forwards_on_one_model_stay_correct()
    {
        int seed = Random.Shared.Next();
        var rng = new Random(seed);
        using var mesh = DeviceMesh.CreateCpu(4);
        var (sharded, weights) = ModelCase.Mixed.Create(mesh, seed);
        using (sharded)
        {
            for (int i = 0; i < 5; i++)
            {
                var x = ReferenceMath.RandomMatrix(rng, 1 + rng.Next(40), 36);
                double error = ReferenceMath.RelativeError(sharded.Forward(x), ModelCase.Mixed.Reference(weights, x));
                Assert.True(error < Tolerance, $"pass {i}: relative error {error:E2} (seed {seed})");
            }
        }
    }
}
