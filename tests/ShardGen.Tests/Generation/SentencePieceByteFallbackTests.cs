using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using ShardGen.Samples;

namespace ShardGen.Tests.Generation;

/// <summary>
/// LLaMA/Mistral tokenizer.json files (SentencePiece-style BPE with byte_fallback, in Hugging Face's exact layout) through
/// samples/Generate's tokenizer: ids worked out by hand from tokenizers' algorithm (models/bpe/model.rs merge_word,
/// normalizers Prepend/Replace, pre-tokenizer Metaspace, decoders Replace/ByteFallback/Fuse/Strip) for characters
/// outside the vocabulary (emoji, accented letters, CJK, control characters), then random Unicode texts against a plain
/// BPE written here and decode round trips.
/// </summary>
public sealed class SentencePieceByteFallbackTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "shardgen-sp-" + Guid.NewGuid().ToString("N"));

    public SentencePieceByteFallbackTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF> (ids 3..258), then pieces.
    private static readonly string[] Tokens =
    [
        "<unk>", "<s>", "</s>", .. Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"),
        "▁", "a", "b", "c", "é", "▁a", "ab", "▁ab", "▁é", "ca",
    ];
    private static readonly string[] Merges = ["▁ a", "a b", "▁a b", "▁ é", "c a"];

    private static int Id(string token) => Array.IndexOf(Tokens, token) is var i and >= 0 ? i : throw new ArgumentException(token);

    private static int Byte(int b) => 3 + b;

    private const int Bos = 1;

    public static TheoryData<string, int[]> HandWorked() => new()
    {
        // ▁ab▁ab: ▁ a (rank 0) at 0, then at 2, then ▁a b (rank 2) twice.
        { "ab ab", [Bos, Id("▁ab"), Id("▁ab")] },
        // 😀 is not in the vocabulary: its UTF-8 bytes F0 9F 98 80.
        { "a😀", [Bos, Id("▁a"), Byte(0xF0), Byte(0x9F), Byte(0x98), Byte(0x80)] },
        // ▁cab▁é中: a b (rank 1) before c a (rank 4), so "ca" never forms; ▁ é (rank 3); 中 = E4 B8 AD.
        { "cab é中", [Bos, Id("▁"), Id("c"), Id("ab"), Id("▁é"), Byte(0xE4), Byte(0xB8), Byte(0xAD)] },
        // è (not é) is C3 A8; the ▁ before it has nothing to merge with.
        { "è", [Bos, Id("▁"), Byte(0xC3), Byte(0xA8)] },
        { "a\nb", [Bos, Id("▁a"), Byte(0x0A), Id("b")] },
        // A leading space is a second ▁; an empty text has no ▁ at all (Prepend skips an empty string).
        { " a", [Bos, Id("▁"), Id("▁a")] },
        { "", [Bos] },
    };

    [Theory]
    [MemberData(nameof(HandWorked))]
    public void ByteFallback_EncodesTheHandWorkedIds_AndDecodesBackToTheText(string text, int[] expected)
    {
        Write(Normalized(), byteFallback: true);
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        Assert.Equal(expected, tokenizer.Encode(text));
        Assert.Equal(text, tokenizer.Decode(expected));
        Assert.Equal("SentencePiece BPE", tokenizer.Kind);
    }

    /// <summary>
    /// Added tokens are split out of the text first and each piece is normalized on its own, so Prepend gives "b" a ▁
    /// of its own, which decodes to a space (Hugging Face's "legacy" LLaMA behaviour); special tokens decode to nothing.
    /// </summary>
    [Fact]
    public void AddedTokensSplitTheTextAndEachPieceIsNormalizedOnItsOwn()
    {
        Write(Normalized(), byteFallback: true);
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        int[] expected = [Bos, Id("▁a"), Bos, Id("▁"), Id("b"), 2];
        Assert.Equal(expected, tokenizer.Encode("a<s>b</s>"));
        Assert.Equal("a b", tokenizer.Decode(expected));
    }

    [Fact]
    public void ByteRunsThatAreNotUtf8DecodeToOneReplacementCharacterPerByte()
    {
        Write(Normalized(), byteFallback: true);
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        // E4 B8 is the start of 中 without its last byte (decoders/byte_fallback.rs: one U+FFFD per byte token).
        Assert.Equal("\uFFFD\uFFFDa", tokenizer.Decode([Byte(0xE4), Byte(0xB8), Id("a")]));
        // A run is judged whole: a stray AD before a complete 中 spoils all four bytes of the run.
        Assert.Equal("a\uFFFD\uFFFD\uFFFD\uFFFD", tokenizer.Decode([Id("▁a"), Byte(0xAD), Byte(0xE4), Byte(0xB8), Byte(0xAD)]));
        // Another token ends a run: AD alone is one U+FFFD, the run after "b" is 中.
        Assert.Equal("a\uFFFDb中", tokenizer.Decode([Id("▁a"), Byte(0xAD), Id("b"), Byte(0xE4), Byte(0xB8), Byte(0xAD)]));
        // Lower-case hex digits are byte tokens too (u8::from_str_radix): give them ids past the vocabulary.
        var vocab = Tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        foreach (string t in new[] { "<0xe4>", "<0xb8>", "<0xad>" }) vocab[t] = vocab.Count;
        Write(Normalized(), byteFallback: true, vocab: vocab);
        Assert.Equal("a中", CheckpointTokenizer.Load(_directory)!.Decode([Id("▁a"), vocab["<0xe4>"], vocab["<0xb8>"], vocab["<0xad>"]]));
    }

    [Theory]
    [InlineData(true, new[] { Bos, 264, 0, 261 })]     // fuse_unk: 中文 is one <unk>
    [InlineData(false, new[] { Bos, 264, 0, 0, 261 })]
    public void WithoutByteFallback_MissingCharactersAreTheUnknownToken(bool fuse, int[] expected)
    {
        Assert.Equal(Id("▁a"), expected[1]);
        Assert.Equal(Id("b"), expected[^1]);
        Write(Normalized(), byteFallback: false, fuseUnknown: fuse);
        Assert.Equal(expected, CheckpointTokenizer.Load(_directory)!.Encode("a中文b"));
    }

    /// <summary>Newer files: no normalizer, a Metaspace pre-tokenizer; "first" prepends ▁ to the text's first piece only.</summary>
    [Theory]
    [InlineData("first", false, "a<s>b", new[] { Bos, 264, Bos, 261 }, "ab")]
    [InlineData("always", false, "a<s>b", new[] { Bos, 264, Bos, 259, 261 }, "a b")]
    [InlineData("first", true, "ab  ab", new[] { Bos, 266, 259, 266 }, "ab  ab")]
    [InlineData("first", false, "a😀", new[] { Bos, 264, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80 }, "a😀")]
    // A text that already starts with ▁ (a space) gets no second one, so the decoder's Strip eats its space.
    [InlineData("first", false, " a", new[] { Bos, 264 }, "a")]
    public void MetaspacePreTokenizer_EncodesTheHandWorkedIds(string scheme, bool split, string text, int[] expected, string decoded)
    {
        Write(Metaspace(scheme, split), byteFallback: true);
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        Assert.Equal(expected, tokenizer.Encode(text));
        Assert.Equal(decoded, tokenizer.Decode(expected));
    }

    /// <summary>The Metaspace decoder: ▁ is a space, and every ▁ of the first token is dropped (decoders' metaspace.rs).</summary>
    [Fact]
    public void MetaspaceDecoder_TurnsReplacementsIntoSpaces_ExceptInTheFirstToken()
    {
        Write(Normalized(), byteFallback: true, decoder: new { type = "Metaspace", replacement = "▁", prepend_scheme = "always", split = true });
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        Assert.Equal("a b ab", tokenizer.Decode([Id("▁a"), Id("▁"), Id("b"), Id("▁ab")]));
    }

    /// <summary>Random Unicode (ASCII, Latin, CJK, emoji, controls): the ids of a plain BPE over runes or their bytes, and the text back.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RandomUnicodeTexts_MatchAPlainBpe_AndRoundTrip(bool metaspace)
    {
        Write(metaspace ? Metaspace("first", split: false) : Normalized(), byteFallback: true);
        var tokenizer = CheckpointTokenizer.Load(_directory)!;
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        for (int trial = 0; trial < 300; trial++)
        {
            string text = RandomText(random);
            // Prepend always adds a ▁ to a non-empty text; Metaspace only when the text does not start with a space.
            bool prepend = text.Length > 0 && !(metaspace && text.StartsWith(' '));
            string normalized = (prepend ? "▁" : "") + text.Replace(' ', '▁');
            int[] expected = [Bos, .. PlainBpe(normalized)];
            Assert.True(expected.SequenceEqual(tokenizer.Encode(text)), $"seed={seed}: ids of \"{text}\"");
            // The decoder's Strip takes back one leading space: the prepended ▁, or the text's own when none was prepended.
            string back = prepend || text.Length == 0 ? text : text[1..];
            Assert.True(back == tokenizer.Decode(expected), $"seed={seed}: \"{text}\" decodes to \"{tokenizer.Decode(expected)}\"");
        }
    }

    [Fact]
    public void UnsupportedStepsAndBrokenMergesAreNamed()
    {
        Write(Normalized(), byteFallback: true, decoder: new { type = "WordPiece", prefix = "##" });
        Assert.Contains("decoder \"WordPiece\" is not supported", Assert.Throws<InvalidDataException>(() => CheckpointTokenizer.Load(_directory)).Message);
        Write(new Dictionary<string, object?> { ["normalizer"] = new { type = "BertNormalizer" } }, byteFallback: true);
        Assert.Contains("normalizer \"BertNormalizer\" is not supported", Assert.Throws<InvalidDataException>(() => CheckpointTokenizer.Load(_directory)).Message);
        Write(Normalized(), byteFallback: true, merges: [.. Merges, "b c"]);
        Assert.Contains("merge \"b c\" (rank 5) names a token missing from model.vocab", Assert.Throws<InvalidDataException>(() => CheckpointTokenizer.Load(_directory)).Message);
    }

    /// <summary>BPE from its definition over strings: each rune itself when in the vocabulary, else its byte tokens; lowest rank, leftmost, until none.</summary>
    private static IEnumerable<int> PlainBpe(string word)
    {
        var symbols = new List<string>();
        foreach (var rune in word.EnumerateRunes())
        {
            string s = rune.ToString();
            if (Tokens.Contains(s) && !s.StartsWith('<')) symbols.Add(s);
            else symbols.AddRange(Encoding.UTF8.GetBytes(s).Select(b => $"<0x{b:X2}>"));
        }
        var rank = Merges.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        while (true)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (rank.TryGetValue(symbols[i] + " " + symbols[i + 1], out int r) && r < bestRank) (best, bestRank) = (i, r);
            if (best < 0) break;
            symbols[best] += symbols[best + 1];
            symbols.RemoveAt(best + 1);
        }
        return symbols.Select(Id);
    }

    /// <summary>Up to 12 runes: vocabulary letters, spaces, newlines and tabs, Latin-1, Greek, CJK, emoji, any BMP scalar.</summary>
    private static string RandomText(Random random)
    {
        var text = new StringBuilder();
        for (int n = random.Next(13); n > 0; n--)
        {
            int code = random.Next(8) switch
            {
                0 => "abcé"[random.Next(4)],
                1 => " \n\t"[random.Next(3)],
                2 => random.Next(0xA0, 0x180),
                3 => random.Next(0x391, 0x3CA),
                4 => random.Next(0x4E00, 0x9FA6),
                5 => random.Next(0x1F300, 0x1FAF0),
                6 => random.Next(0x20, 0x7F),
                _ => random.Next(0x80, 0xD800),
            };
            if (code == '▁' || code == '<') code = 'c'; // ▁ decodes to a space; '<' could spell an added token
            text.Append(char.ConvertFromUtf32(code));
        }
        return text.ToString();
    }

    // LLaMA-2 / Mistral-7B files: Prepend ▁ and Replace " " → ▁ normalizers, no pre-tokenizer.
    private static Dictionary<string, object?> Normalized() => new()
    {
        ["normalizer"] = new
        {
            type = "Sequence",
            normalizers = new object[] { new { type = "Prepend", prepend = "▁" }, new { type = "Replace", pattern = new { String = " " }, content = "▁" } },
        },
        ["pre_tokenizer"] = null,
    };

    // Files converted by newer tokenizers: no normalizer, a Metaspace pre-tokenizer.
    private static Dictionary<string, object?> Metaspace(string scheme, bool split) => new()
    {
        ["normalizer"] = null,
        ["pre_tokenizer"] = new { type = "Metaspace", replacement = "▁", prepend_scheme = scheme, split },
    };

    private void Write(Dictionary<string, object?> steps, bool byteFallback, bool fuseUnknown = true, object? decoder = null,
        string[]? merges = null, Dictionary<string, int>? vocab = null)
    {
        var content = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new[] { "<unk>", "<s>", "</s>" }.Select(t => new
            {
                id = Id(t), content = t, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true,
            }).ToArray(),
            ["post_processor"] = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
                pair = Array.Empty<object>(),
                special_tokens = new Dictionary<string, object> { ["<s>"] = new { id = "<s>", ids = new[] { Bos }, tokens = new[] { "<s>" } } },
            },
            ["decoder"] = decoder ?? new
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
                ["dropout"] = null,
                ["unk_token"] = "<unk>",
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = fuseUnknown,
                ["byte_fallback"] = byteFallback,
                ["ignore_merges"] = false,
                ["vocab"] = vocab ?? Tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i),
                ["merges"] = merges ?? Merges,
            },
        };
        foreach (var (key, value) in steps) content[key] = value;
        File.WriteAllText(Path.Combine(_directory, "tokenizer.json"), JsonSerializer.Serialize(content));
    }
}
