using System;
using ShardGen.Generation;
using Xunit;

namespace ShardGen.Tests.Generation;

/// <summary>The vectorized greedy argmax against a plain scan, on the rows that trip vector code: NaN, ties, ±0, −∞, ragged tails.</summary>
public sealed class ArgmaxTests
{
    [Fact]
    public void VectorizedArgmax_MatchesAScan_OnNaNTiesZerosInfinitiesAndTails()
    {
        var random = new Random(Environment.TickCount);
        float[] specials = [float.NaN, float.NegativeInfinity, float.PositiveInfinity, 0f, -0f, 1f];
        for (int trial = 0; trial < 400; trial++)
        {
            int n = trial % 50 == 0 ? 32000 : 1 + random.Next(300);
            var logits = new float[n];
            int kind = trial % 4; // 0: plain, 1: sprinkled specials, 2: few distinct values (ties), 3: mostly NaN
            for (int i = 0; i < n; i++)
            {
                logits[i] = kind == 2 ? random.Next(4) - 2 : (float)(random.NextDouble() * 20 - 10);
                if (kind == 1 && random.Next(8) == 0) logits[i] = specials[random.Next(specials.Length)];
                if (kind == 3 && random.Next(20) != 0) logits[i] = random.Next(2) == 0 ? float.NaN : float.NegativeInfinity;
            }
            int expected = Scan(logits);
            if (expected < 0) Assert.Throws<ArgumentException>(() => Sampler.Argmax(logits));
            else Assert.Equal(expected, Sampler.Argmax(logits));
        }
    }

    [Fact]
    public void AllNaN_Throws_AndNaNNeverWinsOverMinusInfinity()
    {
        var nan = new float[37];
        Array.Fill(nan, float.NaN);
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => Sampler.Argmax(nan)).Message);
        nan[29] = float.NegativeInfinity;
        Assert.Equal(29, Sampler.Argmax(nan));
        var zeros = new float[40];
        zeros[3] = -0f;
        zeros[0] = -1f;
        Assert.Equal(1, Sampler.Argmax(zeros)); // +0 at 1 and 2 tie with −0 at 3: the first wins
    }

    /// <summary>The scan Argmax was: the first largest logit that is not NaN, −1 when none.</summary>
    private static int Scan(float[] logits)
    {
        int best = -1;
        for (int i = 0; i < logits.Length; i++)
            if (!float.IsNaN(logits[i]) && (best < 0 || logits[i] > logits[best])) best = i;
        return best;
    }
}
