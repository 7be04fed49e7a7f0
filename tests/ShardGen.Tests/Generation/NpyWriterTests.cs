using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using ShardGen.Samples;

namespace ShardGen.Tests.Generation;

/// <summary>samples/Generate's .npy writer: read back by NumPy itself where /usr/bin/python3 has it, and by hand.</summary>
public sealed class NpyWriterTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(17, 1003)]
    public void Header_IsNumPy10_PaddedTo64_AndTheDataFollowsRowMajor(int rows, int cols)
    {
        var matrix = RandomMatrix(rows, cols, seed: rows * cols);
        string path = Path.Combine(Path.GetTempPath(), $"shardgen-npy-{Guid.NewGuid():N}.npy");
        try
        {
            NpyWriter.Write(path, matrix);
            byte[] bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, bytes[..8]);
            int headerLength = BitConverter.ToUInt16(bytes, 8);
            Assert.Equal(0, (10 + headerLength) % 64);
            string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
            Assert.Equal($"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}", header.TrimEnd(' ', '\n'));
            Assert.EndsWith("\n", header);
            Assert.Equal(10 + headerLength + 4L * rows * cols, bytes.Length);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    Assert.Equal(matrix[r, c], BitConverter.ToSingle(bytes, 10 + headerLength + 4 * (r * cols + c)));
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + ".*.tmp"));
        }
        finally { File.Delete(path); }
    }

    [NumPyFact]
    public void NumPy_LoadsWhatItWrites()
    {
        var matrix = RandomMatrix(5, 11, seed: 4);
        string path = Path.Combine(Path.GetTempPath(), $"shardgen-npy-{Guid.NewGuid():N}.npy");
        try
        {
            NpyWriter.Write(path, matrix);
            var psi = new ProcessStartInfo("/usr/bin/python3", ["-c",
                "import sys, numpy; a = numpy.load(sys.argv[1]); print(a.dtype, a.shape); print(' '.join(repr(float(x)) for x in a.ravel()))", path])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(psi)!;
            string output = process.StandardOutput.ReadToEnd(), error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, error);
            var lines = output.Split('\n');
            Assert.Equal("float32 (5, 11)", lines[0]);
            Assert.Equal(matrix.Cast<float>().ToArray(), lines[1].Split(' ').Select(s => (float)double.Parse(s, System.Globalization.CultureInfo.InvariantCulture)));
        }
        finally { File.Delete(path); }
    }

    private static float[,] RandomMatrix(int rows, int cols, int seed)
    {
        var random = new Random(seed);
        var m = new float[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) m[r, c] = (float)(random.NextDouble() * 20 - 10);
        return m;
    }
}

/// <summary>A fact skipped, with the reason, where /usr/bin/python3 cannot import numpy (CI installs python3-numpy).</summary>
public sealed class NumPyFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists("/usr/bin/python3")) return "/usr/bin/python3 is missing: apt-get install python3-numpy";
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import numpy"]) { RedirectStandardError = true })!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : "/usr/bin/python3 has no numpy: apt-get install python3-numpy";
    });

    public NumPyFactAttribute()
    {
        if (Missing.Value is { } reason) Skip = reason;
    }
}
