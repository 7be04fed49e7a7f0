using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using ShardGen.Samples;

namespace ShardGen.Tests.Generation;

/// <summary>
/// samples/Generate's tokenizer.json loader on small hand-written BPE vocabularies: ids worked out by hand, then
/// random texts against a plain BPE written here (apply the lowest-ranked merge until none applies), and decode
/// round trips; for GPT-2's byte-level style and LLaMA's SentencePiece style.
/// </summary>
public sealed class CheckpointTokenizerTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "shardgen-tok-" + Guid.NewGuid().ToString("N"));

    public CheckpointTokenizerTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // GPT-2 byte-level: ASCII letters and '!' are themselves, the space byte is 'Ġ'.
    private static readonly string[] Gpt2Tokens =
        ["h", "e", "l", "o", "Ġ", "w", "r", "d", "!", "he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "Ġh", "lo", "<|endoftext|>"];
    private static readonly string[] Gpt2Merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġ h", "l o"];

    // LLaMA SentencePiece: ▁ is a space; <0x21> is the byte '!'.
    private static readonly string[] LlamaTokens =
        ["<unk>", "<s>", "</s>", "<0x21>", "▁", "h", "i", "t", "e", "r", "▁h", "▁hi", "th", "er", "the", "▁t", "▁the", "re", "▁there"];
    private static readonly string[] LlamaMerges = ["▁ h", "▁h i", "t h", "th e", "▁ t", "▁ the", "r e", "▁the re", "e r"];

    [Fact]
    public void Gpt2ByteLevel_EncodesTheHandWorkedIds_AndDecodesBack()
    {
        WriteGpt2(mergesAsPairs: false);
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        // "hello" → h e l l o → he l l o → he ll o → hell o → hello; " world" → Ġ w o r l d → Ġw o r l d → Ġw or l d → Ġwor l d.
        int[] expected = [Id(Gpt2Tokens, "hello"), Id(Gpt2Tokens, "Ġwor"), Id(Gpt2Tokens, "l"), Id(Gpt2Tokens, "d"), Id(Gpt2Tokens, "!")];
        Assert.Equal(expected, tokenizer.Encode("hello world!"));
        Assert.Equal("hello world!", tokenizer.Decode(expected));
        Assert.Equal("GPT-2 byte-level BPE", tokenizer.Kind);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // newer tokenizer.json files write each merge as ["a", "b"]
    public void Gpt2ByteLevel_RandomTexts_MatchAPlainBpe(bool mergesAsPairs)
    {
        WriteGpt2(mergesAsPairs);
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        var random = new Random(mergesAsPairs ? 2 : 1);
        var split = new Regex(@" ?\p{L}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");
        for (int trial = 0; trial < 200; trial++)
        {
            string text = RandomText(random, "helowrd!", spaces: true);
            var expected = split.Matches(text).SelectMany(m => PlainBpe(m.Value.Replace(' ', 'Ġ'), Gpt2Tokens, Gpt2Merges)).ToArray();
            Assert.Equal(expected, tokenizer.Encode(text));
            Assert.Equal(text, tokenizer.Decode(expected));
        }
    }

    [Fact]
    public void SentencePieceBpe_AddsTheTemplatesBos_EncodesTheHandWorkedIds_DecodesBytes()
    {
        WriteLlama();
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        // "▁hi▁there" by rank: ▁ h → ▁h, ▁h i → ▁hi, t h → th, th e → the (so "▁ t" never applies), ▁ the, r e, ▁the re → ▁there.
        int[] expected = [Id(LlamaTokens, "<s>"), Id(LlamaTokens, "▁hi"), Id(LlamaTokens, "▁there")];
        Assert.Equal(expected, tokenizer.Encode("hi there"));
        Assert.Equal("hi there", tokenizer.Decode(expected));
        Assert.Equal("hi there!", tokenizer.Decode([.. expected, Id(LlamaTokens, "<0x21>")]));
        Assert.Equal("SentencePiece BPE", tokenizer.Kind);
    }

    [Fact]
    public void SentencePieceBpe_RandomTexts_MatchAPlainBpe()
    {
        WriteLlama();
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        var random = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            string text = RandomText(random, "hiter", spaces: true).Trim();
            if (text.Length == 0 || text.Contains("  ")) continue;
            int[] expected = [Id(LlamaTokens, "<s>"), .. PlainBpe("▁" + text.Replace(' ', '▁'), LlamaTokens, LlamaMerges)];
            Assert.Equal(expected, tokenizer.Encode(text));
            Assert.Equal(text, tokenizer.Decode(expected));
        }
    }

    [Fact]
    public void NoTokenizerJson_IsNull_TheSampleUsesIds() => Assert.Null(CheckpointTokenizer.Load(_directory));

    [Fact]
    public void UnsupportedOrBrokenTokenizerJson_IsNamed()
    {
        File.WriteAllText(Path.Combine(_directory, "tokenizer.json"), """{"model": {"type": "Unigram", "vocab": []}}""");
        Assert.Contains("has a \"Unigram\" model: only BPE tokenizers", Assert.Throws<InvalidDataException>(() => CheckpointTokenizer.Load(_directory)).Message);
        File.WriteAllText(Path.Combine(_directory, "tokenizer.json"), "{ not json");
        Assert.Contains("tokenizer.json is not JSON", Assert.Throws<InvalidDataException>(() => CheckpointTokenizer.Load(_directory)).Message);
    }

    /// <summary>BPE by its definition: merge the adjacent pair of lowest rank (leftmost among equals) until none is left.</summary>
    private static IEnumerable<int> PlainBpe(string word, string[] tokens, string[] merges)
    {
        var symbols = word.Select(c => c.ToString()).ToList();
        var rank = merges.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        while (true)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (rank.TryGetValue(symbols[i] + " " + symbols[i + 1], out int r) && r < bestRank) (best, bestRank) = (i, r);
            if (best < 0) break;
            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }
        return symbols.Select(s => Id(tokens, s));
    }

    private static string RandomText(Random random, string alphabet, bool spaces) =>
        new(Enumerable.Range(0, 1 + random.Next(14)).Select(_ => spaces && random.Next(5) == 0 ? ' ' : alphabet[random.Next(alphabet.Length)]).ToArray());

    private static int Id(string[] tokens, string token) => Array.IndexOf(tokens, token) is var i and >= 0 ? i : throw new ArgumentException(token);

    private void WriteGpt2(bool mergesAsPairs) => Write(new Dictionary<string, object?>
    {
        ["added_tokens"] = new[] { new { id = Id(Gpt2Tokens, "<|endoftext|>"), content = "<|endoftext|>", special = true } },
        ["pre_tokenizer"] = new { type = "ByteLevel", add_prefix_space = false },
        ["post_processor"] = new { type = "ByteLevel" },
        ["decoder"] = new { type = "ByteLevel" },
        ["model"] = new Dictionary<string, object?>
        {
            ["type"] = "BPE",
            ["vocab"] = Gpt2Tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i),
            ["merges"] = mergesAsPairs ? Gpt2Merges.Select(m => m.Split(' ')).ToArray() : Gpt2Merges,
        },
    });

    private void WriteLlama() => Write(new Dictionary<string, object?>
    {
        ["added_tokens"] = new[] { "<unk>", "<s>", "</s>" }.Select(t => new { id = Id(LlamaTokens, t), content = t, special = true }).ToArray(),
        ["normalizer"] = new
        {
            type = "Sequence",
            normalizers = new object[] { new { type = "Prepend", prepend = "▁" }, new { type = "Replace", pattern = new { String = " " }, content = "▁" } },
        },
        ["pre_tokenizer"] = null,
        ["post_processor"] = new
        {
            type = "TemplateProcessing",
            single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
        },
        ["decoder"] = new
        {
            type = "Sequence",
            decoders = new object[]
            {
                new { type = "Replace", pattern = new { String = "▁" }, content = " " }, new { type = "ByteFallback" }, new { type = "Fuse" },
                new { type = "Strip", content = " ", start = 1, stop = 0 },
            },
        },
        ["model"] = new Dictionary<string, object?>
        {
            ["type"] = "BPE",
            ["unk_token"] = "<unk>",
            ["byte_fallback"] = true,
            ["vocab"] = LlamaTokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i),
            ["merges"] = LlamaMerges,
        },
    });

    private void Write(object content) =>
        File.WriteAllText(Path.Combine(_directory, "tokenizer.json"), JsonSerializer.Serialize(content));
}
