using System;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Generation;

/// <summary>
/// Picks the next token from one row of logits: greedy argmax at temperature 0, else a draw from
/// softmax(logits / temperature) restricted by top-k and then top-p (Hugging Face's order and tie rules), with a
/// seeded random stream so the same seed and logits give the same tokens.
/// </summary>
public sealed class Sampler
{
    private readonly GenerationOptions _options;
    private readonly Pcg32 _random;
    private double[] _keys = [];
    private int[] _ids = [];

    public Sampler(GenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _random = new Pcg32(options.Seed);
    }

    /// <summary>The next token id for <paramref name="logits"/> (one row, [vocab]).</summary>
    public int Next(ReadOnlySpan<float> logits)
    {
        if (_options.Temperature == 0) return Argmax(logits);
        int kept = Candidates(logits, out double[] probabilities);
        double u = _random.NextDouble(), cumulative = 0;
        for (int i = 0; i < kept - 1; i++)
        {
            cumulative += probabilities[i];
            if (u < cumulative) return _ids[i];
        }
        return _ids[kept - 1];
    }

    /// <summary>
    /// The tokens a draw can return and their probabilities, most likely first (ties by lower id): what
    /// <see cref="Next"/> samples from when the temperature is above 0.
    /// </summary>
    public (int[] Ids, double[] Probabilities) Distribution(ReadOnlySpan<float> logits)
    {
        if (_options.Temperature == 0) throw new InvalidOperationException("Temperature 0 is greedy: there is no distribution to draw from.");
        int kept = Candidates(logits, out double[] probabilities);
        return (_ids[..kept], probabilities[..kept]);
    }

    /// <summary>The index of the largest logit, the lowest index among equals; NaN is never the largest.</summary>
    public static int Argmax(ReadOnlySpan<float> logits)
    {
        CheckLength(logits);
        int best = FirstEqual(logits, LargestNumber(logits)); // the first of ties (−0 == +0, as the scan's > had it)
        if (best < 0) throw new ArgumentException("Every logit is NaN: the model produced no usable scores at this step.", nameof(logits));
        return best;
    }

    // Vectorized: a decode step's 32000 logits in a few µs instead of a scalar scan's tens.

    /// <summary>The largest logit, NaN read as −∞ (so −∞ when all are NaN: <see cref="FirstEqual"/> then finds none).</summary>
    private static float LargestNumber(ReadOnlySpan<float> x)
    {
        int i = 0;
        float m = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && x.Length >= Vector256<float>.Count)
        {
            var ninf = Vector256.Create(float.NegativeInfinity);
            var acc = ninf;
            ref float start = ref MemoryMarshal.GetReference(x);
            for (; i + Vector256<float>.Count <= x.Length; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref start, (nuint)i);
                acc = Vector256.Max(acc, Vector256.ConditionalSelect(Vector256.Equals(v, v), v, ninf));
            }
            for (int k = 0; k < Vector256<float>.Count; k++) m = MathF.Max(m, acc.GetElement(k));
        }
        for (; i < x.Length; i++) if (x[i] > m) m = x[i];
        return m;
    }

    /// <summary>The first i with x[i] == value (IEEE equality: never NaN), or −1.</summary>
    private static int FirstEqual(ReadOnlySpan<float> x, float value)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var target = Vector256.Create(value);
            ref float start = ref MemoryMarshal.GetReference(x);
            for (; i + Vector256<float>.Count <= x.Length; i += Vector256<float>.Count)
            {
                uint hits = Vector256.Equals(Vector256.LoadUnsafe(ref start, (nuint)i), target).ExtractMostSignificantBits();
                if (hits != 0) return i + BitOperations.TrailingZeroCount(hits);
            }
        }
        for (; i < x.Length; i++) if (x[i] == value) return i;
        return -1;
    }

    /// <summary>
    /// Sorts the ids by descending logit into _ids, keeps the top-k then top-p prefix and returns its length, with
    /// <paramref name="probabilities"/> the renormalized softmax (in double, max subtracted) over that prefix.
    /// </summary>
    private int Candidates(ReadOnlySpan<float> logits, out double[] probabilities)
    {
        CheckLength(logits);
        int vocab = logits.Length;
        if (_keys.Length != vocab) { _keys = new double[vocab]; _ids = new int[vocab]; }
        for (int i = 0; i < vocab; i++)
        {
            if (float.IsNaN(logits[i]) || float.IsPositiveInfinity(logits[i]))
                throw new ArgumentException($"The logit of token {i} is {logits[i]}: sampling needs finite scores (or −∞ for a token never drawn).", nameof(logits));
            _keys[i] = -(logits[i] / _options.Temperature); // ascending keys = descending scores
            _ids[i] = i;
        }
        Array.Sort(_keys, _ids);
        OrderTiesById();
        if (double.IsPositiveInfinity(_keys[0])) throw new ArgumentException("Every logit is −∞: no token can be drawn.", nameof(logits));

        int kept = vocab;
        if (_options.TopK > 0 && _options.TopK < vocab)
        {
            kept = _options.TopK;
            while (kept < vocab && _keys[kept] == _keys[kept - 1]) kept++; // ties with the k-th stay, as in Hugging Face
        }

        probabilities = new double[kept];
        double max = -_keys[0], sum = 0;
        for (int i = 0; i < kept; i++) sum += probabilities[i] = Math.Exp(-_keys[i] - max);
        for (int i = 0; i < kept; i++) probabilities[i] /= sum;

        if (_options.TopP < 1)
        {
            // The smallest prefix whose mass reaches p; the first token always stays.
            double cumulative = 0;
            int prefix = 0;
            while (prefix < kept && cumulative < _options.TopP) cumulative += probabilities[prefix++];
            kept = prefix;
            for (int i = 0; i < kept; i++) probabilities[i] /= cumulative;
        }
        return kept;
    }

    /// <summary>Array.Sort is unstable: equal scores are put in id order so a draw depends on the logits alone.</summary>
    private void OrderTiesById()
    {
        for (int start = 0; start < _keys.Length;)
        {
            int end = start + 1;
            while (end < _keys.Length && _keys[end] == _keys[start]) end++;
            if (end - start > 1) Array.Sort(_ids, start, end - start);
            start = end;
        }
    }

    private static void CheckLength(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("The logits row is empty: it needs one score per vocabulary entry.", nameof(logits));
    }
}
