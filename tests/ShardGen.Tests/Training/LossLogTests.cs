using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using ShardGen.Samples;

namespace ShardGen.Tests.Training;

/// <summary>samples/Train's loss log: the CSV reads back bit for bit; the PNG is a PNG of the asked size.</summary>
public sealed class LossLogTests
{
    [Fact]
    public void Csv_RoundTripsEveryDouble_BitForBit()
    {
        var random = new Random(11);
        double[] losses = Enumerable.Range(0, 257).Select(_ => Math.Exp(random.NextDouble() * 10 - 5)).Append(1e-300).Append(7.0).ToArray();
        string path = Temporary(".csv");
        try
        {
            LossLog.WriteCsv(path, losses);
            Assert.Equal("step,loss", File.ReadLines(path).First());
            Assert.Equal(losses, LossLog.ReadCsv(path));
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".*.tmp"));
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData(1, 640, 400)]
    [InlineData(3, 800, 500)]
    public void Png_IsAValidPngOfTheAskedSize_WithEveryCurve(int curves, int width, int height)
    {
        var random = new Random(curves);
        var runs = Enumerable.Range(0, curves)
            .Select(c => new LossCurve($"P = {1 << c}", Enumerable.Range(0, 30).Select(s => 5.5 * Math.Exp(-s / 10.0) + random.NextDouble() * 0.01).ToArray()))
            .ToArray();
        string path = Temporary(".png");
        try
        {
            LossLog.WritePng(path, runs, width, height);
            byte[] bytes = File.ReadAllBytes(path);
            Assert.True(bytes.Length > 1000, $"{bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
            Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
            Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Write_PutsThePngBesideTheCsv()
    {
        string csv = Temporary(".csv");
        string png = Path.ChangeExtension(csv, ".png");
        try
        {
            Assert.Equal(png, LossLog.Write(csv, [5.5, 5.25, 4.75]));
            Assert.Equal(new[] { 5.5, 5.25, 4.75 }, LossLog.ReadCsv(csv));
            Assert.True(new FileInfo(png).Length > 1000);
        }
        finally { File.Delete(csv); File.Delete(png); }
    }

    private static string Temporary(string extension) => Path.Combine(Path.GetTempPath(), $"shardgen-loss-{Guid.NewGuid():N}{extension}");
}
