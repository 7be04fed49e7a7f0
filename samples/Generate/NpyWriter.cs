using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace ShardGen.Samples;

/// <summary>
/// Writes a float32 matrix as a NumPy .npy file (format version 1.0: magic, a Python-dict header padded to 64 bytes,
/// then the little-endian row-major data), to a temporary name first and renamed, so a reader never sees half a file.
/// </summary>
public static class NpyWriter
{
    public static void Write(string path, float[,] matrix)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException(".npy '<f4' data is written from little-endian memory.");
        int rows = matrix.GetLength(0), cols = matrix.GetLength(1);
        string dict = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        // magic (6) + version (2) + header length (2) + header, a multiple of 64, the header ending in '\n'.
        int unpadded = 10 + dict.Length + 1;
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";

        string full = Path.GetFullPath(path);
        string temporary = full + $".{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
                stream.Write(BitConverter.GetBytes((ushort)header.Length));
                stream.Write(Encoding.ASCII.GetBytes(header));
                if (matrix.Length > 0) stream.Write(MemoryMarshal.AsBytes(MemoryMarshal.CreateReadOnlySpan(ref matrix[0, 0], matrix.Length)));
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
