using System;
using System.Linq;
using ShardGen.Generation;

namespace ShardGen.Tests.Generation;

/// <summary>
/// The generation loop over a fake bigram model whose logits depend on token and position: prefill once, then one
/// token per call at the right position; greedy ids equal the argmax chain computed from the table; stop token and
/// maximum length; bad prompts refused before the model runs.
/// </summary>
public sealed class TextGeneratorTests
{
    [Theory]
    [InlineData(11, 1, 3)]
    [InlineData(50, 5, 12)]
    [InlineData(7, 4, 1)]
    public void Greedy_IsTheArgmaxChainOfTheLogits_OneTokenPerStepAtTheNextPosition(int vocab, int promptLength, int maxNew)
    {
        var model = new BigramModel(vocab, seed: vocab * 31 + promptLength);
        var random = new Random(promptLength);
        int[] prompt = Enumerable.Range(0, promptLength).Select(_ => random.Next(vocab)).ToArray();

        var result = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = maxNew });

        // The oracle: the argmax of each step's logits, computed straight from the table.
        var expected = new int[maxNew];
        int last = prompt[^1];
        for (int step = 0; step < maxNew; step++)
        {
            int position = promptLength - 1 + step, best = 0;
            for (int v = 1; v < vocab; v++)
                if (model.Logit(last, position, v) > model.Logit(last, position, best)) best = v;
            expected[step] = last = best;
        }
        Assert.Equal(expected, result.NewIds);
        Assert.Equal(prompt, result.PromptIds);
        Assert.Equal([.. prompt, .. expected], result.AllIds);
        Assert.Equal(GenerationStop.MaxNewTokens, result.Stop);

        // Prefill is one call with the whole prompt; each later call is the previous new token at the next position.
        Assert.Equal(maxNew, model.Calls.Count);
        Assert.Equal(prompt, model.Calls[0].Ids);
        Assert.Equal(0, model.Calls[0].Position);
        for (int i = 1; i < maxNew; i++)
        {
            Assert.Equal([expected[i - 1]], model.Calls[i].Ids);
            Assert.Equal(promptLength + i - 1, model.Calls[i].Position);
        }
        Assert.Equal(1, model.CachesCreated);
        Assert.Equal(1, model.CachesDisposed);
        Assert.Equal(maxNew - 1, result.DecodeSteps);
    }

    [Fact]
    public void PromptLogits_AreTheWholePromptPass()
    {
        var model = new BigramModel(13, seed: 3);
        int[] prompt = [4, 0, 12, 7];
        var result = TextGenerator.Generate(model, prompt, new GenerationOptions { MaxNewTokens = 2 });
        Assert.Equal(prompt.Length, result.PromptLogits.GetLength(0));
        Assert.Equal(13, result.PromptLogits.GetLength(1));
        for (int t = 0; t < prompt.Length; t++)
            for (int v = 0; v < 13; v++) Assert.Equal(model.Logit(prompt[t], t, v), result.PromptLogits[t, v]);
    }

    [Fact]
    public void StopToken_EndsGeneration_AndIsKept()
    {
        var model = new BigramModel(20, seed: 8);
        var free = TextGenerator.Generate(model, [1, 2], new GenerationOptions { MaxNewTokens = 10 });
        // Stop at the third token the unconstrained run produced (the first id there not seen before it).
        int index = Enumerable.Range(0, free.NewIds.Length).First(i => i >= 2 && !free.NewIds[..i].Contains(free.NewIds[i]));
        int stopId = free.NewIds[index];

        var stopped = TextGenerator.Generate(new BigramModel(20, seed: 8), [1, 2],
            new GenerationOptions { MaxNewTokens = 10, StopTokens = [stopId] });

        Assert.Equal(free.NewIds[..(index + 1)], stopped.NewIds);
        Assert.Equal(GenerationStop.StopToken, stopped.Stop);
    }

    [Fact]
    public void StopTokenAsFirstNewToken_EndsAfterPrefill()
    {
        var model = new BigramModel(9, seed: 2);
        int first = TextGenerator.Generate(model, [5], new GenerationOptions { MaxNewTokens = 1 }).NewIds[0];
        var fresh = new BigramModel(9, seed: 2);
        var result = TextGenerator.Generate(fresh, [5], new GenerationOptions { MaxNewTokens = 8, StopTokens = [first] });
        Assert.Equal([first], result.NewIds);
        Assert.Single(fresh.Calls);
        Assert.True(double.IsNaN(result.DecodeMillisecondsPerToken));
    }

    [Fact]
    public void Cache_IsSizedForPromptAndEveryNewToken()
    {
        var model = new BigramModel(10, seed: 1);
        // The fake throws on overflow: 6 + 30 tokens must fit the cache the generator asked for.
        var result = TextGenerator.Generate(model, [1, 2, 3, 4, 5, 6], new GenerationOptions { MaxNewTokens = 30 });
        Assert.Equal(30, result.NewIds.Length);
    }

    [Theory]
    [InlineData(new[] { 3, 10 }, "Prompt token 1 is id 10, outside the vocabulary [0, 10).")]
    [InlineData(new[] { -1 }, "Prompt token 0 is id -1, outside the vocabulary [0, 10).")]
    [InlineData(new int[0], "The prompt is empty")]
    public void BadPrompt_IsRefusedBeforeTheModelRuns(int[] prompt, string message)
    {
        var model = new BigramModel(10, seed: 1);
        var error = Assert.Throws<ArgumentException>(() => TextGenerator.Generate(model, prompt));
        Assert.StartsWith(message, error.Message);
        Assert.Empty(model.Calls);
        Assert.Equal(0, model.CachesCreated);
    }

    [Fact]
    public void StopTokenOutsideTheVocabulary_IsRefused()
    {
        var model = new BigramModel(10, seed: 1);
        var error = Assert.Throws<ArgumentException>(() =>
            TextGenerator.Generate(model, [1], new GenerationOptions { StopTokens = [10] }));
        Assert.StartsWith("Stop token 10 is outside the vocabulary [0, 10).", error.Message);
        Assert.Empty(model.Calls);
    }

    [Fact]
    public void SameSeed_SameIds_OtherSeed_OtherIds()
    {
        var options = new GenerationOptions { MaxNewTokens = 40, Temperature = 1.5, Seed = 1234 };
        var a = TextGenerator.Generate(new BigramModel(30, seed: 5), [3], options);
        var b = TextGenerator.Generate(new BigramModel(30, seed: 5), [3], options);
        var c = TextGenerator.Generate(new BigramModel(30, seed: 5), [3], options with { Seed = 1235 });
        Assert.Equal(a.NewIds, b.NewIds);
        Assert.NotEqual(a.NewIds, c.NewIds); // 40 draws at temperature 1.5 over 30 tokens: equal only by a fluke
    }
}
