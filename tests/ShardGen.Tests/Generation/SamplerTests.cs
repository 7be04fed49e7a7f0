using System;
using System.Linq;
using ShardGen.Generation;

namespace ShardGen.Tests.Generation;

/// <summary>
/// The sampler against direct computations in the test: greedy is argmax, top-k draws only among the k best, the
/// top-p set is the smallest most-likely set reaching p, a temperature near 0 is greedy, the same seed draws the same
/// ids, and many draws follow the filtered softmax (chi-square).
/// </summary>
public sealed class SamplerTests
{
    [Fact]
    public void Greedy_IsTheArgmax_LowestIdOnTies_NaNNeverWins()
    {
        var random = new Random(11);
        for (int trial = 0; trial < 50; trial++)
        {
            float[] logits = RandomLogits(random, 1 + random.Next(40));
            int expected = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[expected]) expected = i;
            Assert.Equal(expected, new Sampler(new GenerationOptions()).Next(logits));
        }
        Assert.Equal(1, Sampler.Argmax([0f, 2f, 1f, 2f]));
        Assert.Equal(2, Sampler.Argmax([float.NaN, -1f, 3f, float.NaN]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public void TopK_NeverDrawsOutsideTheKBest(int k)
    {
        var random = new Random(k);
        float[] logits = RandomLogits(random, 40);
        var best = Enumerable.Range(0, 40).OrderByDescending(i => logits[i]).Take(k).ToHashSet();
        var sampler = new Sampler(new GenerationOptions { Temperature = 2.0, TopK = k, Seed = 5 });
        var drawn = Enumerable.Range(0, 4000).Select(_ => sampler.Next(logits)).ToHashSet();
        Assert.Subset(best, drawn);
        Assert.Equal(best.Count, drawn.Count); // at temperature 2 each of the k is drawn in 4000 tries
        Assert.Equal(best.OrderBy(i => i), sampler.Distribution(logits).Ids.OrderBy(i => i));
    }

    [Fact]
    public void TopK_KeepsTiesWithTheKth_AsHuggingFace()
    {
        var sampler = new Sampler(new GenerationOptions { Temperature = 1, TopK = 2 });
        Assert.Equal([3, 1, 2], sampler.Distribution([0f, 1f, 1f, 5f, -2f]).Ids);
    }

    [Theory]
    [InlineData(0.05, 0, 1.0)]
    [InlineData(0.5, 0, 1.0)]
    [InlineData(0.9, 0, 0.7)]
    [InlineData(0.99, 0, 2.5)]
    [InlineData(0.8, 12, 1.3)]
    public void TopP_IsTheSmallestMostLikelySetReachingP(double p, int k, double temperature)
    {
        var random = new Random((int)(p * 1000) + k);
        for (int trial = 0; trial < 20; trial++)
        {
            float[] logits = RandomLogits(random, 60);
            var sampler = new Sampler(new GenerationOptions { Temperature = temperature, TopK = k, TopP = p });
            var (ids, probabilities) = sampler.Distribution(logits);

            // Direct: softmax over the top-k survivors; a token is in the set iff the tokens strictly more likely
            // than it carry less than p. Probabilities renormalized over the set.
            double[] full = FilteredSoftmax(logits, temperature, k);
            var expected = Enumerable.Range(0, 60).Where(i => full[i] > 0 && full.Where(q => q > full[i]).Sum() < p).ToArray();
            Assert.Equal(expected.OrderBy(i => i), ids.OrderBy(i => i));
            double mass = expected.Sum(i => full[i]);
            Assert.True(mass >= p - 1e-12, $"the set carries {mass} < p = {p}");
            for (int j = 0; j < ids.Length; j++) Assert.Equal(full[ids[j]] / mass, probabilities[j], 12);
        }
    }

    [Fact]
    public void TopP_AlwaysKeepsTheMostLikelyToken()
    {
        var sampler = new Sampler(new GenerationOptions { Temperature = 1, TopP = 1e-9 });
        Assert.Equal([2], sampler.Distribution([0f, 1f, 4f, 3f]).Ids);
    }

    [Fact]
    public void TemperatureNearZero_IsGreedy()
    {
        var random = new Random(3);
        for (int trial = 0; trial < 30; trial++)
        {
            float[] logits = RandomLogits(random, 25); // distinct values at least ~1e-3 apart in practice
            var sampler = new Sampler(new GenerationOptions { Temperature = 1e-6, Seed = (ulong)trial });
            Assert.Equal(Sampler.Argmax(logits), sampler.Next(logits));
        }
    }

    [Fact]
    public void SameSeed_SameDraws_OtherSeed_OtherDraws()
    {
        float[] logits = RandomLogits(new Random(9), 100);
        int[] Draw(ulong seed)
        {
            var sampler = new Sampler(new GenerationOptions { Temperature = 1.2, TopK = 50, TopP = 0.95, Seed = seed });
            return Enumerable.Range(0, 200).Select(_ => sampler.Next(logits)).ToArray();
        }
        Assert.Equal(Draw(77), Draw(77));
        Assert.NotEqual(Draw(77), Draw(78));
    }

    [Theory]
    [InlineData(1.0, 0, 1.0, 1UL)]
    [InlineData(0.8, 6, 1.0, 2UL)]
    [InlineData(1.5, 0, 0.9, 3UL)]
    [InlineData(0.6, 7, 0.95, 4UL)]
    public void Draws_FollowTheFilteredSoftmax_ChiSquare(double temperature, int k, double p, ulong seed)
    {
        float[] logits = RandomLogits(new Random((int)seed), 10);
        double[] full = FilteredSoftmax(logits, temperature, k);
        var set = Enumerable.Range(0, 10).Where(i => full[i] > 0 && full.Where(q => q > full[i]).Sum() < p).ToArray();
        double mass = set.Sum(i => full[i]);

        const int draws = 200_000;
        var counts = new int[10];
        var sampler = new Sampler(new GenerationOptions { Temperature = temperature, TopK = k, TopP = p, Seed = seed });
        for (int n = 0; n < draws; n++) counts[sampler.Next(logits)]++;

        Assert.All(Enumerable.Range(0, 10).Except(set), i => Assert.Equal(0, counts[i]));
        double chiSquare = set.Sum(i => Math.Pow(counts[i] - draws * full[i] / mass, 2) / (draws * full[i] / mass));
        // 99.9th percentile of chi-square with up to 9 degrees of freedom: a correct sampler exceeds it 1 time in 1000.
        Assert.True(chiSquare < 27.88, $"chi-square {chiSquare:F1} over {set.Length} tokens: counts {string.Join(' ', counts)}");
    }

    [Fact]
    public void NonFiniteLogits_AreNamed()
    {
        var sampler = new Sampler(new GenerationOptions { Temperature = 1 });
        Assert.StartsWith("The logit of token 1 is NaN", Assert.Throws<ArgumentException>(() => sampler.Next([0f, float.NaN])).Message);
        Assert.StartsWith("Every logit is −∞", Assert.Throws<ArgumentException>(() => sampler.Next([float.NegativeInfinity])).Message);
        Assert.Equal(1, sampler.Next([float.NegativeInfinity, 0f, float.NegativeInfinity]));
    }

    [Theory]
    [InlineData(0, 0, 0, 1, "MaxNewTokens is 0")]
    [InlineData(1, -0.5, 0, 1, "Temperature is -0.5")]
    [InlineData(1, double.NaN, 0, 1, "Temperature is NaN")]
    [InlineData(1, 1, -2, 1, "TopK is -2")]
    [InlineData(1, 1, 0, 0, "TopP is 0")]
    [InlineData(1, 1, 0, 1.5, "TopP is 1.5")]
    public void BadOptions_AreNamed(int maxNew, double temperature, int k, double p, string message)
    {
        var options = new GenerationOptions { MaxNewTokens = maxNew, Temperature = temperature, TopK = k, TopP = p };
        Assert.StartsWith(message, Assert.Throws<ArgumentException>(() => new Sampler(options)).Message);
    }

    private static float[] RandomLogits(Random random, int vocab) =>
        Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();

    /// <summary>softmax(logits / T) over the top-k (all when k = 0), zeros elsewhere; plain double loops.</summary>
    private static double[] FilteredSoftmax(float[] logits, double temperature, int k)
    {
        int n = logits.Length;
        double kth = k > 0 && k < n ? logits.OrderByDescending(x => x).ElementAt(k - 1) : double.NegativeInfinity;
        double max = logits.Max() / temperature;
        var weights = logits.Select(x => x >= kth ? Math.Exp(x / temperature - max) : 0).ToArray();
        double sum = weights.Sum();
        return weights.Select(w => w / sum).ToArray();
    }
}
