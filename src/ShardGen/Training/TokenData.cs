using System;
using System.IO;

namespace ShardGen.Training;

/// <summary>
/// The token ids a model trains on, one array of length N that the batches cut windows from
/// (see <see cref="TrainingBatches"/>). <see cref="Check"/> validates them against a model and a window length.
/// </summary>
public sealed class TokenData
{
    public TokenData(string source, int[] ids)
    {
        Source = source ?? throw new ArgumentNullException(nameof(source));
        Ids = ids ?? throw new ArgumentNullException(nameof(ids));
    }

    /// <summary>Where the ids came from (a file path or a description), for error messages.</summary>
    public string Source { get; }

    public int[] Ids { get; }

    /// <summary>N, the number of tokens.</summary>
    public int Count => Ids.Length;

    /// <summary>A NumPy .npy file of a 1-D int32 array.</summary>
    public static TokenData Load(string path)
    {
        if (!File.Exists(path)) throw new TrainingDataException($"{path}: no such file. --data takes a NumPy .npy file of a 1-D int32 array of token ids.");
        return new TokenData(path, NpyFile.ReadInt32(path));
    }

    /// <summary>A text's UTF-8 bytes as ids (<see cref="ByteTokens"/>).</summary>
    public static TokenData FromText(string source, string text) => new(source, ByteTokens.Encode(text));

    /// <summary>Every id in [0, <paramref name="vocabulary"/>) and at least <paramref name="sequence"/> + 1 tokens.</summary>
    /// <exception cref="TrainingDataException">The first id outside the vocabulary (with its position), or too few tokens.</exception>
    public void Check(int vocabulary, int sequence)
    {
        if (sequence < 1) throw new TrainingDataException($"The window length (--seq) must be at least 1, not {sequence}.");
        if (Count < (long)sequence + 1)
            throw new TrainingDataException($"{Source}: {Count} tokens, fewer than --seq + 1 = {(long)sequence + 1} (a window's inputs and its targets one further). Use more data or a smaller --seq.");
        for (int i = 0; i < Ids.Length; i++)
            if ((uint)Ids[i] >= (uint)vocabulary)
                throw new TrainingDataException($"{Source}: token id {Ids[i]} at position {i} is outside the model's vocabulary [0, {vocabulary}). Tokenize with the model's tokenizer.");
    }
}
