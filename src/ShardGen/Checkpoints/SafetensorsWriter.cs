using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ShardGen.Checkpoints;

/// <summary>A named tensor to write: its shape and its float32 elements, row-major.</summary>
public readonly record struct NamedTensor(string Name, long[] Shape, float[] Data);

/// <summary>
/// Writes safetensors files (F32 or BF16, rounded to nearest even) to a temporary name, then renames, so a reader
/// never sees half a file.
/// </summary>
public static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, SafetensorsDType dtype)
    {
        if (dtype is not (SafetensorsDType.F32 or SafetensorsDType.BF16))
            throw new ArgumentException($"SafetensorsWriter writes F32 and BF16, not {dtype}.", nameof(dtype));
        foreach (var t in tensors)
            if (t.Shape.Aggregate(1L, (a, b) => a * b) != t.Data.Length)
                throw new ArgumentException($"Tensor '{t.Name}' has shape [{string.Join(", ", t.Shape)}] but {t.Data.Length} elements.", nameof(tensors));

        byte[] header = Header(tensors, dtype);
        string temporary = path + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BitConverter.TryWriteBytes(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var t in tensors)
                {
                    if (dtype == SafetensorsDType.F32) stream.Write(MemoryMarshal.AsBytes(t.Data.AsSpan()));
                    else stream.Write(MemoryMarshal.AsBytes(t.Data.Select(BFloat16).ToArray().AsSpan()));
                }
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>float32 → BF16, rounded to nearest even (NaN stays NaN).</summary>
    public static ushort BFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    // The JSON header, padded with spaces to a multiple of 8 bytes (as the safetensors library does).
    private static byte[] Header(IReadOnlyList<NamedTensor> tensors, SafetensorsDType dtype)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            long offset = 0;
            int size = SafetensorsDTypes.Size(dtype);
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", dtype.ToString());
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset += (long)t.Data.Length * size;
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padded = (int)((buffer.Length + 7) / 8 * 8);
        var header = new byte[padded];
        buffer.ToArray().CopyTo(header, 0);
        header.AsSpan((int)buffer.Length).Fill((byte)' ');
        return header;
    }
}
