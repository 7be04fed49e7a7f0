using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ShardGen.Samples;

/// <summary>
/// A SentencePiece-style BPE tokenizer.json (LLaMA, Mistral) run as Hugging Face tokenizers runs it, step for step:
/// the added tokens are split out of the text first; each remaining piece goes through the normalizers (Prepend,
/// Replace, Unicode forms, Lowercase), then the pre-tokenizer (none, or Metaspace), then the BPE model of
/// tokenizers/src/models/bpe/model.rs: characters (Unicode scalars) looked up in the vocabulary, a missing one becoming
/// its UTF-8 bytes as &lt;0xXX&gt; tokens when <c>byte_fallback</c> is set (else the unknown token, runs fused with
/// <c>fuse_unk</c>), then merges by rank, lowest first and leftmost among equals. Decoding runs the file's decoder
/// chain: Replace, ByteFallback (a run of byte tokens becomes its UTF-8 text, or one U+FFFD per byte when it is not
/// valid UTF-8), Fuse, Strip, Metaspace.
/// </summary>
public sealed class SentencePieceBpe
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<int, string> _tokens;
    private readonly Dictionary<(int, int), (int Rank, int Id)> _merges;
    private readonly int[] _byteIds; // <0xXX> token id per byte, −1 where the vocabulary lacks it
    private readonly int? _unknown;
    private readonly bool _byteFallback, _fuseUnknown, _ignoreMerges;
    private readonly (string Content, int Id)[] _added; // longest first, so "<s>" never cuts "<s>x" short
    private readonly Func<string, string>[] _normalizers;
    private readonly Metaspace? _metaspace;
    private readonly Func<List<string>, List<string>>[] _decoders;

    private SentencePieceBpe(JsonElement root, JsonElement model, string path)
    {
        _vocab = model.GetProperty("vocab").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        _tokens = _vocab.ToDictionary(kv => kv.Value, kv => kv.Key);
        var added = new List<(string, int)>();
        if (root.TryGetProperty("added_tokens", out var list) && list.ValueKind == JsonValueKind.Array)
            foreach (var token in list.EnumerateArray())
            {
                string content = token.GetProperty("content").GetString()!;
                int id = token.GetProperty("id").GetInt32();
                added.Add((content, id));
                _tokens[id] = content;
            }
        _added = added.Where(a => a.Item1.Length > 0).OrderByDescending(a => a.Item1.Length).ToArray();

        _byteFallback = Bool(model, "byte_fallback");
        _fuseUnknown = Bool(model, "fuse_unk");
        _ignoreMerges = Bool(model, "ignore_merges");
        foreach (string affix in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(affix, out var a) && a.ValueKind == JsonValueKind.String && a.GetString()!.Length > 0)
                throw new InvalidDataException($"{path}: model.{affix} = \"{a.GetString()}\" is a WordPiece-style BPE; only GPT-2 and SentencePiece-style BPE are supported.");
        if (model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String)
            _unknown = _vocab.TryGetValue(u.GetString()!, out int unk) ? unk
                : throw new InvalidDataException($"{path}: model.unk_token \"{u.GetString()}\" is not in model.vocab.");
        _byteIds = new int[256];
        for (int b = 0; b < 256; b++) _byteIds[b] = _vocab.TryGetValue(ByteToken(b), out int id) ? id : -1;

        _merges = new Dictionary<(int, int), (int, int)>();
        if (model.TryGetProperty("merges", out var merges))
        {
            int rank = 0;
            foreach (var merge in merges.EnumerateArray())
            {
                var (left, right) = MergePair(merge, path);
                if (!_vocab.TryGetValue(left, out int l) || !_vocab.TryGetValue(right, out int r) || !_vocab.TryGetValue(left + right, out int id))
                    throw new InvalidDataException($"{path}: merge \"{left} {right}\" (rank {rank}) names a token missing from model.vocab.");
                _merges.TryAdd((l, r), (rank, id));
                rank++;
            }
        }

        _normalizers = Flatten(root, "normalizer", "normalizers").Select(n => Normalizer(n, path)).ToArray();
        var pre = Flatten(root, "pre_tokenizer", "pretokenizers").ToList();
        if (pre.Count > 1 || pre.Count == 1 && Type(pre[0]) != "Metaspace")
            throw new InvalidDataException($"{path}: pre_tokenizer {string.Join(", ", pre.Select(Type))} is not supported with a SentencePiece-style BPE (none or Metaspace).");
        _metaspace = pre.Count == 1 ? Metaspace.From(pre[0]) : null;
        _decoders = Flatten(root, "decoder", "decoders").Select(d => Decoder(d, path)).ToArray();
    }

    /// <summary>The tokenizer of tokenizer.json's <paramref name="root"/> (a BPE model without a ByteLevel step).</summary>
    /// <exception cref="InvalidDataException">A step this class does not run, or a vocabulary that contradicts its merges, named.</exception>
    public static SentencePieceBpe FromJson(JsonElement root, JsonElement model, string path) => new(root, model, path);

    /// <summary>The byte token of <paramref name="b"/> as SentencePiece writes it: &lt;0x0A&gt;.</summary>
    public static string ByteToken(int b) => $"<0x{b:X2}>";

    /// <summary>The ids of <paramref name="text"/> (no post-processor template).</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        int start = 0, at = 0;
        while (at < text.Length)
        {
            var hit = _added.FirstOrDefault(a => string.CompareOrdinal(text, at, a.Content, 0, a.Content.Length) == 0);
            if (hit.Content == null) { at++; continue; }
            EncodePiece(text[start..at], start, ids);
            ids.Add(hit.Id);
            at += hit.Content.Length;
            start = at;
        }
        EncodePiece(text[start..], start, ids);
        return ids;
    }

    /// <summary>The text of <paramref name="ids"/> through the decoder chain; ids in <paramref name="skipped"/> are left out.</summary>
    public string Decode(IEnumerable<int> ids, IReadOnlySet<int> skipped)
    {
        var tokens = ids.Where(id => !skipped.Contains(id) && _tokens.ContainsKey(id)).Select(id => _tokens[id]).ToList();
        foreach (var decoder in _decoders) tokens = decoder(tokens);
        return string.Concat(tokens);
    }

    // One piece of text between added tokens; offset is where it starts in the original text (Metaspace's "first").
    private void EncodePiece(string piece, int offset, List<int> ids)
    {
        if (piece.Length == 0) return;
        foreach (var normalize in _normalizers) piece = normalize(piece);
        if (piece.Length == 0) return;
        var words = _metaspace is { } m ? m.Words(piece, offset == 0) : [piece];
        foreach (string word in words) EncodeWord(word, ids);
    }

    private void EncodeWord(string word, List<int> ids)
    {
        if (word.Length == 0) return;
        if (_ignoreMerges && _vocab.TryGetValue(word, out int whole)) { ids.Add(whole); return; }
        var symbols = new List<int>();
        bool unknownPending = false;
        foreach (var rune in word.EnumerateRunes())
        {
            string character = rune.ToString();
            if (_vocab.TryGetValue(character, out int id))
            {
                if (unknownPending) symbols.Add(_unknown!.Value);
                unknownPending = false;
                symbols.Add(id);
                continue;
            }
            if (_byteFallback)
            {
                var bytes = Encoding.UTF8.GetBytes(character);
                if (bytes.All(b => _byteIds[b] >= 0))
                {
                    // As model.rs: the byte tokens go in without first flushing an unknown token still pending.
                    foreach (byte b in bytes) symbols.Add(_byteIds[b]);
                    continue;
                }
            }
            if (_unknown is null) continue; // no unknown token: the character is dropped, as Hugging Face does
            if (unknownPending && !_fuseUnknown) symbols.Add(_unknown.Value);
            unknownPending = true;
        }
        if (unknownPending) symbols.Add(_unknown!.Value);
        Merge(symbols);
        ids.AddRange(symbols);
    }

    /// <summary>Applies the lowest-ranked merge (leftmost among equal ranks) until none applies.</summary>
    private void Merge(List<int> symbols)
    {
        while (symbols.Count > 1)
        {
            int best = -1, bestRank = int.MaxValue, bestId = 0;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (_merges.TryGetValue((symbols[i], symbols[i + 1]), out var m) && m.Rank < bestRank)
                    (best, bestRank, bestId) = (i, m.Rank, m.Id);
            if (best < 0) return;
            symbols[best] = bestId;
            symbols.RemoveAt(best + 1);
        }
    }

    private static bool Bool(JsonElement e, string key) => e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True;

    private static string Type(JsonElement e) => e.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";

    private static string Text(JsonElement e, string key, string path, string what) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new InvalidDataException($"{path}: {what} has no \"{key}\" string.");

    /// <summary>root[property] as a list of steps: nothing when null, its items when it is a Sequence, else itself.</summary>
    private static IEnumerable<JsonElement> Flatten(JsonElement root, string property, string items)
    {
        if (!root.TryGetProperty(property, out var e) || e.ValueKind != JsonValueKind.Object) yield break;
        if (Type(e) != "Sequence") { yield return e; yield break; }
        foreach (var item in e.GetProperty(items).EnumerateArray())
            foreach (var step in Type(item) == "Sequence" ? item.GetProperty(items).EnumerateArray() : new[] { item }.AsEnumerable())
                yield return step;
    }

    /// <summary>A merge as "a b" (older files) or ["a", "b"] (newer files).</summary>
    private static (string, string) MergePair(JsonElement merge, string path)
    {
        if (merge.ValueKind == JsonValueKind.Array) return (merge[0].GetString()!, merge[1].GetString()!);
        string text = merge.GetString()!;
        int space = text.IndexOf(' ');
        return space > 0 ? (text[..space], text[(space + 1)..]) : throw new InvalidDataException($"{path}: merge \"{text}\" is not \"left right\".");
    }

    /// <summary>Replace's pattern: {"String": s} literally, {"Regex": r} as a regular expression.</summary>
    private static Func<string, string> Replacer(JsonElement step, string path, string what)
    {
        if (!step.TryGetProperty("pattern", out var pattern) || pattern.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: {what} Replace has no pattern.");
        string content = Text(step, "content", path, what + " Replace");
        if (pattern.TryGetProperty("String", out var s)) { string from = s.GetString()!; return x => x.Replace(from, content, StringComparison.Ordinal); }
        if (pattern.TryGetProperty("Regex", out var r)) { var regex = new Regex(r.GetString()!); return x => regex.Replace(x, content); }
        throw new InvalidDataException($"{path}: {what} Replace's pattern is neither String nor Regex.");
    }

    private static Func<string, string> Normalizer(JsonElement step, string path)
    {
        switch (Type(step))
        {
            case "Prepend":
                string prepend = Text(step, "prepend", path, "normalizer Prepend");
                return x => x.Length > 0 ? prepend + x : x;
            case "Replace": return Replacer(step, path, "normalizer");
            case "NFC": return x => x.Normalize(NormalizationForm.FormC);
            case "NFD": return x => x.Normalize(NormalizationForm.FormD);
            case "NFKC": return x => x.Normalize(NormalizationForm.FormKC);
            case "NFKD": return x => x.Normalize(NormalizationForm.FormKD);
            case "Lowercase": return x => x.ToLowerInvariant();
            case var other:
                throw new InvalidDataException($"{path}: normalizer \"{other}\" is not supported with a SentencePiece-style BPE (Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase).");
        }
    }

    private static Func<List<string>, List<string>> Decoder(JsonElement step, string path)
    {
        switch (Type(step))
        {
            case "Replace":
                var replace = Replacer(step, path, "decoder");
                return tokens => tokens.Select(replace).ToList();
            case "ByteFallback": return ByteFallback;
            case "Fuse": return tokens => [string.Concat(tokens)];
            case "Strip":
                string content = Text(step, "content", path, "decoder Strip");
                int start = step.TryGetProperty("start", out var s) ? s.GetInt32() : 0, stop = step.TryGetProperty("stop", out var e) ? e.GetInt32() : 0;
                return tokens => tokens.Select(t => Strip(t, content, start, stop)).ToList();
            case "Metaspace":
                var metaspace = Metaspace.From(step);
                return metaspace.Decode;
            case var other:
                throw new InvalidDataException($"{path}: decoder \"{other}\" is not supported with a SentencePiece-style BPE (Replace, ByteFallback, Fuse, Strip, Metaspace).");
        }
    }

    /// <summary>Runs of &lt;0xXX&gt; tokens become their UTF-8 text, or one U+FFFD per byte when the run is not valid UTF-8.</summary>
    private static List<string> ByteFallback(List<string> tokens)
    {
        var result = new List<string>();
        var run = new List<byte>();
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        void Flush()
        {
            if (run.Count == 0) return;
            try { result.Add(strict.GetString(run.ToArray())); }
            catch (DecoderFallbackException) { result.AddRange(Enumerable.Repeat("\uFFFD", run.Count)); }
            run.Clear();
        }
        foreach (string token in tokens)
        {
            if (token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
                byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
            {
                run.Add(b);
                continue;
            }
            Flush();
            result.Add(token);
        }
        Flush();
        return result;
    }

    /// <summary>Up to <paramref name="start"/> leading and <paramref name="stop"/> trailing <paramref name="content"/> characters off a token.</summary>
    private static string Strip(string token, string content, int start, int stop)
    {
        var chars = token.EnumerateRunes().Select(r => r.ToString()).ToList();
        int first = 0;
        while (first < Math.Min(start, chars.Count) && chars[first] == content) first++;
        int end = chars.Count;
        for (int i = 0; i < Math.Min(stop, chars.Count - first) && chars[end - 1] == content; i++) end--;
        return string.Concat(chars.Skip(first).Take(end - first));
    }

    /// <summary>
    /// The Metaspace pre-tokenizer and decoder: spaces become the replacement character, one prepended (always, to the
    /// text's first piece only, or never) unless the piece starts with it; with split, each word starts at a replacement
    /// character. Decoding turns them back into spaces, dropping them from the first token when one is prepended.
    /// </summary>
    private sealed record Metaspace(string Replacement, string Scheme, bool Split)
    {
        public static Metaspace From(JsonElement e)
        {
            string replacement = e.TryGetProperty("replacement", out var r) ? r.GetString()! : "▁";
            // Older files write add_prefix_space instead of prepend_scheme.
            string scheme = e.TryGetProperty("prepend_scheme", out var p) ? p.GetString()! :
                e.TryGetProperty("add_prefix_space", out var a) && a.ValueKind == JsonValueKind.False ? "never" : "always";
            bool split = !e.TryGetProperty("split", out var s) || s.ValueKind != JsonValueKind.False;
            return new Metaspace(replacement, scheme, split);
        }

        public List<string> Words(string piece, bool first)
        {
            piece = piece.Replace(" ", Replacement, StringComparison.Ordinal);
            if ((Scheme == "always" || Scheme == "first" && first) && !piece.StartsWith(Replacement, StringComparison.Ordinal))
                piece = Replacement + piece;
            if (!Split) return [piece];
            var words = new List<string>();
            int start = 0;
            for (int at = piece.IndexOf(Replacement, 1, StringComparison.Ordinal); at > 0; at = piece.IndexOf(Replacement, at + Replacement.Length, StringComparison.Ordinal))
            {
                words.Add(piece[start..at]);
                start = at;
            }
            words.Add(piece[start..]);
            return words;
        }

        public List<string> Decode(List<string> tokens) =>
            tokens.Select((t, i) => t.Replace(Replacement, i == 0 && Scheme != "never" ? "" : " ", StringComparison.Ordinal)).ToList();
    }
}
