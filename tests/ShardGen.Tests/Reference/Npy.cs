using System;
using System.IO;
using System.Linq;
using System.Text;

namespace ShardGen.Tests.Reference;

/// <summary>
/// Reads NumPy .npy files (version 1–3, C order, little-endian float32, float64, int64 or bool) as doubles: the
/// reference's outputs and the tensors it dumps.
/// </summary>
internal static class Npy
{
    public static (int[] Shape, double[] Data) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{path}: not a .npy file.");
        int headerLength = bytes[6] == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int start = bytes[6] == 1 ? 10 : 12;
        string header = Encoding.ASCII.GetString(bytes, start, headerLength);
        string descr = Field(header, "descr").Trim('\'', '"');
        if (Field(header, "fortran_order") != "False") throw new InvalidDataException($"{path}: Fortran order.");
        string shapeText = Field(header, "shape").Trim('(', ')');
        int[] shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var data = new double[count];
        var body = bytes.AsSpan(start + headerLength);
        for (long i = 0; i < count; i++)
            data[i] = descr switch
            {
                "<f4" => BitConverter.ToSingle(body.Slice((int)i * 4, 4)),
                "<f8" => BitConverter.ToDouble(body.Slice((int)i * 8, 8)),
                "<i8" => BitConverter.ToInt64(body.Slice((int)i * 8, 8)),
                "|b1" or "|u1" => body[(int)i],
                _ => throw new InvalidDataException($"{path}: dtype {descr} not read."),
            };
        return (shape, data);
    }

    /// <summary>A 2D array (a 1D one as [1, n]).</summary>
    public static double[,] ReadMatrix(string path)
    {
        var (shape, data) = Read(path);
        int rows = shape.Length == 2 ? shape[0] : 1, cols = shape.Length == 2 ? shape[1] : shape.Length == 1 ? shape[0] : 1;
        if (shape.Length > 2) throw new InvalidDataException($"{path}: shape ({string.Join(", ", shape)}) is not 1D or 2D.");
        var result = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[r, c] = data[(long)r * cols + c];
        return result;
    }

    // The value of 'key' in the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
    private static string Field(string header, string key)
    {
        int at = header.IndexOf($"'{key}':", StringComparison.Ordinal);
        if (at < 0) throw new InvalidDataException($"npy header has no {key}: {header}");
        int start = at + key.Length + 3;
        int end = header[start..].TrimStart().StartsWith('(') ? header.IndexOf(')', start) + 1 : header.IndexOf(',', start);
        return header[start..end].Trim();
    }
}
