using System;

namespace ShardGen;

/// <summary>
/// The keys and values of one sequence's past tokens, kept by the devices that hold their heads, so that a decode
/// step runs only the new token. Made by <see cref="ILanguageModel.CreateCache"/>; filled by its Forward.
/// </summary>
public class KvCache : IDisposable
{
    public KvCache(int maxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        MaxTokens = maxTokens;
    }

    /// <summary>How many tokens the cache can hold.</summary>
    public int MaxTokens { get; }

    /// <summary>How many tokens it holds: the position of the next token.</summary>
    public int Length { get; protected internal set; }

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
