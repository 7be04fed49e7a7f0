using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace ShardGen.Training;

/// <summary>
/// NumPy .npy files of token ids: 1-D little-endian int32 ('&lt;i4'), C order. Reads format versions 1–3; writes 1.0
/// (a Python-dict header padded to 64 bytes) to a temporary name and renames, so a reader never sees half a file.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The ids of a 1-D int32 .npy file.</summary>
    /// <exception cref="TrainingDataException">Not a .npy file, not int32, not 1-D, Fortran order or truncated.</exception>
    public static int[] ReadInt32(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
            throw new TrainingDataException($"{path}: not a NumPy .npy file (no \\x93NUMPY magic). Save token ids with numpy.save(path, numpy.asarray(ids, dtype=numpy.int32)).");
        int major = bytes[6];
        int start = major == 1 ? 10 : 12;
        if (major is < 1 or > 3 || bytes.Length < start)
            throw new TrainingDataException($"{path}: .npy format version {major} is not 1, 2 or 3.");
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        if (headerLength < 0 || start + headerLength > bytes.Length)
            throw new TrainingDataException($"{path}: the .npy header ({headerLength} bytes) runs past the end of the file ({bytes.Length} bytes).");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, start, headerLength);

        string descr = Field(path, header, "descr").Trim('\'', '"');
        string shape = Field(path, header, "shape");
        if (descr is not ("<i4" or "|i4"))
            throw new TrainingDataException($"{path}: token ids must be int32 ('<i4'), found dtype '{descr}'. Convert with numpy.save(path, ids.astype(numpy.int32)).");
        if (Field(path, header, "fortran_order") != "False")
            throw new TrainingDataException($"{path}: Fortran order is not read; save a C-ordered array.");
        string[] dims = shape.Trim('(', ')').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (dims.Length != 1 || !long.TryParse(dims[0], NumberStyles.None, CultureInfo.InvariantCulture, out long count))
            throw new TrainingDataException($"{path}: token ids must be a 1-D array, found shape {shape}. Flatten it with ids.reshape(-1).");

        long expected = start + headerLength + 4 * count;
        if (bytes.Length != expected)
            throw new TrainingDataException($"{path}: shape {shape} needs {expected} bytes, the file has {bytes.Length}: truncated or damaged.");
        var ids = new int[count];
        MemoryMarshal.Cast<byte, int>(bytes.AsSpan(start + headerLength)).CopyTo(ids);
        if (!BitConverter.IsLittleEndian)
            for (long i = 0; i < count; i++) ids[i] = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(ids[i]);
        return ids;
    }

    /// <summary>Writes <paramref name="ids"/> as a 1-D int32 .npy file (temporary name, then rename).</summary>
    public static void WriteInt32(string path, ReadOnlySpan<int> ids)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy '<i4' data is written from little-endian memory.");
        string dict = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '<i4', 'fortran_order': False, 'shape': ({ids.Length},), }}");
        int unpadded = 10 + dict.Length + 1;   // magic, version, length, then the header ending in '\n'
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        string full = Path.GetFullPath(path);
        string temporary = full + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(Magic);
                stream.Write([1, 0]);
                stream.Write(BitConverter.GetBytes((ushort)header.Length));
                stream.Write(Encoding.ASCII.GetBytes(header));
                stream.Write(MemoryMarshal.AsBytes(ids));
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    // The value of 'key' in the header dict: {'descr': '<i4', 'fortran_order': False, 'shape': (1000,), }
    private static string Field(string path, string header, string key)
    {
        int at = header.IndexOf($"'{key}':", StringComparison.Ordinal);
        if (at < 0) throw new TrainingDataException($"{path}: the .npy header has no '{key}': {header.Trim()}");
        int start = at + key.Length + 3;
        while (start < header.Length && header[start] == ' ') start++;
        int end = start < header.Length && header[start] == '(' ? header.IndexOf(')', start) + 1 : header.IndexOf(',', start);
        if (end <= start) throw new TrainingDataException($"{path}: the .npy header's '{key}' is unreadable: {header.Trim()}");
        return header[start..end].Trim();
    }
}
