using System;
using System.Diagnostics;
using System.Linq;
using System.Runtime.InteropServices;

namespace ShardGen.Generation;

/// <summary>
/// Autoregressive generation over an <see cref="ILanguageModel"/> with a KV cache: one forward pass over the prompt
/// (prefill), then one pass per new token that runs only that token against the cached keys and values.
/// </summary>
public static class TextGenerator
{
    /// <summary>
    /// Generates up to <see cref="GenerationOptions.MaxNewTokens"/> tokens after <paramref name="prompt"/>, stopping
    /// early after a stop token (which is kept). Every argument is checked before the model runs.
    /// </summary>
    public static GenerationResult Generate(ILanguageModel model, int[] prompt, GenerationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompt);
        options ??= new GenerationOptions();
        var sampler = new Sampler(options); // validates the options
        CheckPrompt(prompt, model.Vocab);
        foreach (int id in options.StopTokens)
            if (id < 0 || id >= model.Vocab)
                throw new ArgumentException($"Stop token {id} is outside the vocabulary [0, {model.Vocab}).", nameof(options));

        using var cache = model.CreateCache(prompt.Length + options.MaxNewTokens);
        var newIds = new int[options.MaxNewTokens];
        int count = 0;

        var clock = Stopwatch.StartNew();
        float[,] promptLogits = model.Forward(prompt, cache);
        CheckLogits(promptLogits, prompt.Length, model.Vocab);
        newIds[count++] = sampler.Next(Row(promptLogits, prompt.Length - 1));
        double prefill = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        while (count < newIds.Length && !options.StopTokens.Contains(newIds[count - 1]))
        {
            float[,] logits = model.Forward([newIds[count - 1]], cache);
            CheckLogits(logits, 1, model.Vocab);
            newIds[count++] = sampler.Next(Row(logits, 0));
        }
        double decode = clock.Elapsed.TotalMilliseconds;

        var stop = options.StopTokens.Contains(newIds[count - 1]) ? GenerationStop.StopToken : GenerationStop.MaxNewTokens;
        return new GenerationResult((int[])prompt.Clone(), newIds[..count], promptLogits, stop, prefill, decode);
    }

    /// <summary>Throws naming the first id outside [0, vocab) and its position, or an empty prompt.</summary>
    public static void CheckPrompt(int[] prompt, int vocab)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length == 0) throw new ArgumentException("The prompt is empty: give at least one token id.", nameof(prompt));
        for (int i = 0; i < prompt.Length; i++)
            if (prompt[i] < 0 || prompt[i] >= vocab)
                throw new ArgumentException($"Prompt token {i} is id {prompt[i]}, outside the vocabulary [0, {vocab}).", nameof(prompt));
    }

    private static void CheckLogits(float[,] logits, int tokens, int vocab)
    {
        if (logits.GetLength(0) != tokens || logits.GetLength(1) != vocab)
            throw new InvalidOperationException(
                $"The model returned logits [{logits.GetLength(0)}, {logits.GetLength(1)}] for {tokens} tokens: expected [{tokens}, {vocab}].");
    }

    private static ReadOnlySpan<float> Row(float[,] logits, int row) =>
        MemoryMarshal.CreateReadOnlySpan(ref logits[row, 0], logits.GetLength(1));
}
