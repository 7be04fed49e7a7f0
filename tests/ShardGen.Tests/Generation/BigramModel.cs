using System;
using System.Collections.Generic;

namespace ShardGen.Tests.Generation;

/// <summary>
/// A fake <see cref="ILanguageModel"/> for the generation loop: the logits of a token are row `id` of a random bigram
/// table plus a term that depends on the token's position, so a loop that loses its place in the cache gets different
/// logits. It records every call and checks what a real model's cache would refuse.
/// </summary>
internal sealed class BigramModel : ILanguageModel
{
    private readonly float[,] _table;
    private readonly float[] _positionBias;

    public BigramModel(int vocab, int seed, int maxPositions = 512)
    {
        var random = new Random(seed);
        _table = new float[vocab, vocab];
        for (int i = 0; i < vocab; i++)
            for (int j = 0; j < vocab; j++) _table[i, j] = (float)(random.NextDouble() * 6 - 3);
        _positionBias = new float[maxPositions];
        for (int p = 0; p < maxPositions; p++) _positionBias[p] = (float)(random.NextDouble() * 6 - 3);
    }

    public int Vocab => _table.GetLength(0);
    public ModelPlan Plan => throw new NotSupportedException("the fake has no plan");

    /// <summary>Each call's ids and the cache length it started from.</summary>
    public List<(int[] Ids, int Position)> Calls { get; } = [];

    public int CachesCreated { get; private set; }
    public int CachesDisposed { get; private set; }

    /// <summary>What the model returns for <paramref name="id"/> at <paramref name="position"/>: the test's own oracle.</summary>
    public float Logit(int id, int position, int next) => _table[id, next] + (next % 3 == 0 ? _positionBias[position] : 0);

    public float[,] Forward(int[] tokenIds, KvCache? cache)
    {
        int start = cache?.Length ?? 0;
        if (cache != null && start + tokenIds.Length > cache.MaxTokens)
            throw new InvalidOperationException($"cache overflow: {start} + {tokenIds.Length} > {cache.MaxTokens}");
        Calls.Add(((int[])tokenIds.Clone(), start));
        var logits = new float[tokenIds.Length, Vocab];
        for (int t = 0; t < tokenIds.Length; t++)
            for (int v = 0; v < Vocab; v++) logits[t, v] = Logit(tokenIds[t], start + t, v);
        if (cache != null) cache.Length += tokenIds.Length;
        return logits;
    }

    public KvCache CreateCache(int maxTokens)
    {
        CachesCreated++;
        return new CountingCache(maxTokens, this);
    }

    public void Dispose() { }

    private sealed class CountingCache(int maxTokens, BigramModel owner) : KvCache(maxTokens)
    {
        public override void Dispose()
        {
            owner.CachesDisposed++;
            base.Dispose();
        }
    }
}
