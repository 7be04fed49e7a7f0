using System;
using System.Collections.Generic;

namespace ShardGen.Generation;

/// <summary>
/// How <see cref="TextGenerator"/> picks tokens and when it stops. The filters apply in Hugging Face's order:
/// temperature, then top-k, then top-p; a temperature of 0 is greedy (argmax) and ignores the rest.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>At most this many new tokens (the stop token, when one is drawn, is one of them).</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>Divides the logits before sampling; 0 = greedy.</summary>
    public double Temperature { get; init; }

    /// <summary>Sample among the k most likely tokens only (ties with the k-th kept, as Hugging Face); 0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>Sample among the smallest set of most likely tokens whose probabilities add up to at least p; 1 = off.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>The random stream's seed: the same seed gives the same tokens on every run.</summary>
    public ulong Seed { get; init; }

    /// <summary>Generation ends after any of these ids.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range and what it accepts.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1)
            throw new ArgumentException($"MaxNewTokens is {MaxNewTokens}: generate at least 1 token.", nameof(MaxNewTokens));
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentException($"Temperature is {Temperature}: use 0 (greedy) or a finite positive number.", nameof(Temperature));
        if (TopK < 0)
            throw new ArgumentException($"TopK is {TopK}: use 0 (off) or a positive count.", nameof(TopK));
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentException($"TopP is {TopP}: use a probability in (0, 1] (1 = off).", nameof(TopP));
    }
}
