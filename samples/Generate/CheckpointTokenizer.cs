using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ShardGen.Samples;

/// <summary>
/// The tokenizer of a Hugging Face checkpoint folder (<c>tokenizer.json</c> with a BPE model), built on
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> from the file's vocab and merges. Two styles:
/// GPT-2's byte-level BPE (a <c>ByteLevel</c> pre-tokenizer: GPT-2's split regex, bytes mapped to printable
/// characters), and LLaMA's and Mistral's SentencePiece-style BPE, run by <see cref="SentencePieceBpe"/> as Hugging
/// Face runs it (its normalizers and decoders, byte fallback: a character missing from the vocab becomes its UTF-8
/// bytes as <c>&lt;0xXX&gt;</c> tokens, decoded back into the character).
/// The post-processor's special tokens around a single sequence (LLaMA's <c>&lt;s&gt;</c>) are added when encoding.
/// </summary>
public sealed class CheckpointTokenizer
{
    /// <summary>GPT-2's pre-tokenizer split (contractions, letters, digits, other, spaces), as in tokenizer.json's ByteLevel.</summary>
    private const string Gpt2Split = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer? _bpe;            // GPT-2 byte-level
    private readonly SentencePieceBpe? _sentencePiece; // LLaMA, Mistral
    private readonly HashSet<int> _special;
    private readonly int[] _prefix, _suffix;

    private CheckpointTokenizer(BpeTokenizer? bpe, SentencePieceBpe? sentencePiece, IEnumerable<int> special, int[] prefix, int[] suffix)
    {
        _bpe = bpe;
        _sentencePiece = sentencePiece;
        _special = special.ToHashSet();
        _prefix = prefix;
        _suffix = suffix;
    }

    /// <summary>"GPT-2 byte-level BPE" or "SentencePiece BPE", for the sample's report.</summary>
    public string Kind => _sentencePiece != null ? "SentencePiece BPE" : "GPT-2 byte-level BPE";

    /// <summary>The tokenizer of <paramref name="checkpointDirectory"/>, or null when it has no tokenizer.json.</summary>
    /// <exception cref="InvalidDataException">tokenizer.json is not a BPE tokenizer this class can build, naming why.</exception>
    public static CheckpointTokenizer? Load(string checkpointDirectory)
    {
        string path = Path.Combine(checkpointDirectory, "tokenizer.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return FromJson(document.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not JSON: {e.Message}", e);
        }
    }

    private static CheckpointTokenizer FromJson(JsonElement root, string path)
    {
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path} has no \"model\" object.");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (type != "BPE")
            throw new InvalidDataException($"{path} has a \"{type}\" model: only BPE tokenizers (GPT-2, LLaMA) are supported.");
        if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: model.vocab is missing or not an object of token → id.");

        var vocab = vocabJson.EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = model.TryGetProperty("merges", out var mergesJson) ? mergesJson.EnumerateArray().Select(Merge).ToList() : [];
        var special = new Dictionary<string, int>();
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            foreach (var token in added.EnumerateArray())
                if (token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True)
                    special[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();

        bool byteLevel = HasType(root, "pre_tokenizer", "ByteLevel") || HasType(root, "decoder", "ByteLevel");
        var (prefix, suffix) = SingleSequenceTemplate(root, special, vocab);
        if (!byteLevel) return new CheckpointTokenizer(null, SentencePieceBpe.FromJson(root, model, path), special.Values, prefix, suffix);
        string? unknown = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = special.Count > 0 ? special : null,
            UnknownToken = unknown,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new Regex(Gpt2Split, RegexOptions.Compiled), special.Count > 0 ? special : null),
        };
        return new CheckpointTokenizer(BpeTokenizer.Create(options), null, special.Values, prefix, suffix);
    }

    /// <summary>The token ids of <paramref name="text"/>, with the special tokens the checkpoint's template adds.</summary>
    public int[] Encode(string text) =>
        [.. _prefix, .. _sentencePiece != null ? _sentencePiece.Encode(text) : _bpe!.EncodeToIds(text), .. _suffix];

    /// <summary>The text of <paramref name="ids"/>; special tokens (e.g. &lt;s&gt;) are left out.</summary>
    public string Decode(IEnumerable<int> ids) =>
        _sentencePiece != null ? _sentencePiece.Decode(ids, _special) : _bpe!.Decode(ids.Where(id => !_special.Contains(id)));

    /// <summary>A merge as "a b" (older files) or ["a", "b"] (newer files).</summary>
    private static string Merge(JsonElement merge) =>
        merge.ValueKind == JsonValueKind.Array ? $"{merge[0].GetString()} {merge[1].GetString()}" : merge.GetString()!;

    /// <summary>Whether root[property] is of <paramref name="type"/>, or a Sequence holding one.</summary>
    private static bool HasType(JsonElement root, string property, string type)
    {
        if (!root.TryGetProperty(property, out var element) || element.ValueKind != JsonValueKind.Object) return false;
        string own = element.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        if (own == type) return true;
        foreach (string list in new[] { "pretokenizers", "decoders", "normalizers" })
            if (element.TryGetProperty(list, out var items) && items.ValueKind == JsonValueKind.Array &&
                items.EnumerateArray().Any(i => i.TryGetProperty("type", out var it) && it.GetString() == type))
                return true;
        return false;
    }

    /// <summary>The ids a TemplateProcessing post-processor puts before and after a single sequence ($A).</summary>
    private static (int[] Prefix, int[] Suffix) SingleSequenceTemplate(JsonElement root, Dictionary<string, int> special, List<KeyValuePair<string, int>> vocab)
    {
        if (!root.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object ||
            !post.TryGetProperty("type", out var type) || type.GetString() != "TemplateProcessing" ||
            !post.TryGetProperty("single", out var single))
            return ([], []);
        var prefix = new List<int>();
        var suffix = new List<int>();
        bool seenSequence = false;
        foreach (var piece in single.EnumerateArray())
        {
            if (piece.TryGetProperty("Sequence", out _)) { seenSequence = true; continue; }
            if (!piece.TryGetProperty("SpecialToken", out var token)) continue;
            string name = token.GetProperty("id").GetString()!;
            int id = special.TryGetValue(name, out int s) ? s : vocab.First(kv => kv.Key == name).Value;
            (seenSequence ? suffix : prefix).Add(id);
        }
        return (prefix.ToArray(), suffix.ToArray());
    }
}
