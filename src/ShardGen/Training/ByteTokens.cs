using System;
using System.Text;

namespace ShardGen.Training;

/// <summary>
/// Byte-level tokens: a text's UTF-8 bytes are its ids (vocabulary 256), so any text trains any model whose vocabulary
/// has at least 256 entries, with no tokenizer file.
/// </summary>
public static class ByteTokens
{
    public const int Vocabulary = 256;

    public static int[] Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var ids = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) ids[i] = bytes[i];
        return ids;
    }

    /// <summary>The text of byte ids (invalid UTF-8 sequences become U+FFFD).</summary>
    public static string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new byte[ids.Length];
        for (int i = 0; i < ids.Length; i++)
            bytes[i] = ids[i] is >= 0 and < Vocabulary ? (byte)ids[i] : throw new ArgumentOutOfRangeException(nameof(ids), $"Id {ids[i]} at position {i} is not a byte (0–255).");
        return Encoding.UTF8.GetString(bytes);
    }
}
