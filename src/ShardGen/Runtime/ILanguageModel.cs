using System;

namespace ShardGen;

/// <summary>
/// A loaded language model, as generation drives it: token ids in, logits [tokens, vocab] out, with an optional
/// KV cache so that each step after the prompt runs only the new token.
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>
    /// Runs <paramref name="tokenIds"/> as one sequence. With a cache, positions continue from the cache's length and
    /// the tokens' keys and values are appended to it. Returns the logits of these tokens, [tokens, vocab].
    /// </summary>
    float[,] Forward(int[] tokenIds, KvCache? cache);

    /// <summary>A cache for one sequence of up to <paramref name="maxTokens"/> tokens (prompt and generated).</summary>
    KvCache CreateCache(int maxTokens);

    /// <summary>The vocabulary size: token ids are [0, Vocab).</summary>
    int Vocab { get; }

    /// <summary>The plan this instance runs.</summary>
    ModelPlan Plan { get; }
}
