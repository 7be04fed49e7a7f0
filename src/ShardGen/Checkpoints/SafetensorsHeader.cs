using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace ShardGen.Checkpoints;

/// <summary>Parses and checks a safetensors header against the file's length; every failure names the file and tensor.</summary>
internal static unsafe class SafetensorsHeader
{
    // Headers above this are not safetensors files (the format's own reader caps them at 100 MB).
    private const long MaxHeaderBytes = 100L << 20;

    public static Dictionary<string, SafetensorsTensor> Parse(string path, long fileLength, byte* start)
    {
        ulong headerLength = *(ulong*)start;
        if (headerLength > (ulong)(fileLength - 8) || headerLength > MaxHeaderBytes)
            throw new CheckpointException($"{path}: the header length in its first 8 bytes is {headerLength} bytes, but the file is {fileLength} bytes: it is truncated or not a safetensors file; download it again.");
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;

        JsonDocument document;
        try { document = JsonDocument.Parse(new ReadOnlySpan<byte>(start + 8, (int)headerLength).ToArray()); }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: the {headerLength}-byte header is not JSON ({e.Message}): the file is damaged or not a safetensors file; download it again.");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{path}: the header is JSON but not an object of tensors ({document.RootElement.ValueKind}): not a safetensors file.");
            var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__") continue;
                var (dtype, shape, begin, end) = Entry(path, entry);
                int size = SafetensorsDTypes.Size(dtype);
                long elements = shape.Aggregate(1L, (a, b) => checked(a * b));
                if (size > 0 && end - begin != elements * size)
                    throw new CheckpointException($"{path}: tensor '{entry.Name}' is {dtype} [{string.Join(", ", shape)}], which needs {elements * size} bytes, but its data_offsets [{begin}, {end}] give {end - begin}: the header is inconsistent; re-save the checkpoint.");
                tensors.Add(entry.Name, new SafetensorsTensor(entry.Name, dtype, shape, dataStart + begin, end - begin));
            }
            CheckBounds(path, fileLength, dataLength, dataStart, tensors.Values);
            return tensors;
        }
    }

    private static (string DType, long[] Shape, long Begin, long End) Entry(string path, JsonProperty entry)
    {
        string Bad(string what) => $"{path}: header entry '{entry.Name}' {what}; a tensor entry is {{\"dtype\": \"F32\", \"shape\": [..], \"data_offsets\": [begin, end]}}: the file is damaged or not a safetensors file.";
        var e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object) throw new CheckpointException(Bad($"is a {e.ValueKind}, not an object"));
        if (!e.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String)
            throw new CheckpointException(Bad("has no dtype string"));
        if (!e.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array ||
            shape.EnumerateArray().Any(d => d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0))
            throw new CheckpointException(Bad("has no shape of non-negative integers"));
        if (!e.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2 ||
            offsets.EnumerateArray().Any(d => d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0))
            throw new CheckpointException(Bad("has no data_offsets [begin, end] of non-negative integers"));
        long begin = offsets[0].GetInt64(), end = offsets[1].GetInt64();
        if (end < begin) throw new CheckpointException(Bad($"has data_offsets [{begin}, {end}] that end before they begin"));
        return (dtype.GetString()!, shape.EnumerateArray().Select(d => d.GetInt64()).ToArray(), begin, end);
    }

    // Every tensor's bytes inside the data section, and no two tensors sharing bytes.
    private static void CheckBounds(string path, long fileLength, long dataLength, long dataStart, IEnumerable<SafetensorsTensor> tensors)
    {
        var ordered = tensors.OrderBy(t => t.FileOffset).ThenBy(t => t.ByteLength).ToList();
        long lastEnd = ordered.Count == 0 ? 0 : ordered.Max(t => t.FileOffset + t.ByteLength) - dataStart;
        foreach (var t in ordered)
        {
            long begin = t.FileOffset - dataStart, end = begin + t.ByteLength;
            if (end <= dataLength) continue;
            throw new CheckpointException(end == lastEnd && begin <= dataLength
                ? $"{path}: the file is truncated: tensor '{t.Name}' needs bytes [{begin}, {end}) of the data section, but the file ({fileLength} bytes) holds only {dataLength} bytes of data; download it again."
                : $"{path}: tensor '{t.Name}' has data_offsets [{begin}, {end}] outside the file's {dataLength} bytes of data (file {fileLength} bytes): the header is wrong; re-save the checkpoint.");
        }
        for (int i = 1; i < ordered.Count; i++)
        {
            var (a, b) = (ordered[i - 1], ordered[i]);
            if (b.FileOffset < a.FileOffset + a.ByteLength && b.ByteLength > 0)
                throw new CheckpointException($"{path}: tensors '{a.Name}' (bytes [{a.FileOffset - dataStart}, {a.FileOffset - dataStart + a.ByteLength})) and '{b.Name}' (bytes [{b.FileOffset - dataStart}, {b.FileOffset - dataStart + b.ByteLength})) overlap in the data section: the header is wrong; re-save the checkpoint.");
        }
    }
}
