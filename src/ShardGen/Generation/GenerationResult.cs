namespace ShardGen.Generation;

/// <summary>Why generation ended.</summary>
public enum GenerationStop
{
    /// <summary>The last new token is one of <see cref="GenerationOptions.StopTokens"/>.</summary>
    StopToken,
    /// <summary><see cref="GenerationOptions.MaxNewTokens"/> tokens were generated.</summary>
    MaxNewTokens,
}

/// <summary>
/// The outcome of <see cref="TextGenerator.Generate"/>: the ids, the prompt pass's logits and the times. Prefill is the
/// prompt's forward pass plus the first draw; each decode step is one token's forward pass plus its draw.
/// </summary>
public sealed record GenerationResult(
    int[] PromptIds,
    int[] NewIds,
    float[,] PromptLogits,
    GenerationStop Stop,
    double PrefillMilliseconds,
    double DecodeMilliseconds)
{
    /// <summary>Decode steps run: every new token after the first (which comes from the prompt pass).</summary>
    public int DecodeSteps => NewIds.Length - 1;

    /// <summary>Mean time of one decode step; NaN when there was none.</summary>
    public double DecodeMillisecondsPerToken => DecodeSteps > 0 ? DecodeMilliseconds / DecodeSteps : double.NaN;

    /// <summary>Decode speed, 1000 / <see cref="DecodeMillisecondsPerToken"/>; NaN when there was no decode step.</summary>
    public double TokensPerSecond => 1000 / DecodeMillisecondsPerToken;

    /// <summary>The prompt followed by the new tokens.</summary>
    public int[] AllIds => [.. PromptIds, .. NewIds];
}
