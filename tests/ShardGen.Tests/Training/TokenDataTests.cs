using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using ShardGen.Tests.Generation;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>Token data: .npy files read and written, byte-level tokens, and the checks' errors.</summary>
public sealed class TokenDataTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(1000)]
    public void Npy_RoundTrips_Int32(int count)
    {
        var random = new Random(count);
        int[] ids = Enumerable.Range(0, count).Select(_ => random.Next(int.MinValue, int.MaxValue)).ToArray();
        string path = Temporary();
        try
        {
            NpyFile.WriteInt32(path, ids);
            byte[] bytes = File.ReadAllBytes(path);
            Assert.Equal(0, (10 + BitConverter.ToUInt16(bytes, 8)) % 64);
            Assert.Equal(ids, NpyFile.ReadInt32(path));
            Assert.Equal(ids, TokenData.Load(path).Ids);
        }
        finally { File.Delete(path); }
    }

    [NumPyFact]
    public void NumPy_ReadsWhatNpyFileWrites_AndNpyFileReadsWhatNumPyWrites()
    {
        int[] ids = [5, 0, 255, 1002, 7, 7, 3];
        string ours = Temporary(), theirs = Temporary();
        try
        {
            NpyFile.WriteInt32(ours, ids);
            string script = $"import numpy as np; a = np.load('{ours}'); assert a.dtype == np.int32 and a.shape == (7,), (a.dtype, a.shape); print(','.join(map(str, a))); np.save('{theirs}', (a * 3).astype(np.int32))";
            var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(script);
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, error);
            Assert.Equal(string.Join(',', ids), output.Trim());
            Assert.Equal(ids.Select(i => i * 3).ToArray(), NpyFile.ReadInt32(theirs));
        }
        finally { File.Delete(ours); File.Delete(theirs); }
    }

    [Theory]
    [InlineData("'<i4'", "'<f4'", "int32 ('<i4'), found dtype '<f4'")]
    [InlineData("'<i4'", "'<i8'", "found dtype '<i8'")]
    [InlineData("(6,)", "(2,3)", "1-D array, found shape (2,3)")]
    [InlineData("False", "True ", "Fortran order")]
    public void Npy_OtherThanOneDimensionalInt32_IsAnError(string find, string replace, string expected)
    {
        string path = Temporary();
        try
        {
            NpyFile.WriteInt32(path, [1, 2, 3, 4, 5, 6]);
            byte[] bytes = File.ReadAllBytes(path);
            string header = Encoding.ASCII.GetString(bytes, 10, BitConverter.ToUInt16(bytes, 8));
            string patched = header.Replace(find, replace);
            patched = patched.TrimEnd('\n', ' ').PadRight(header.Length - 1) + "\n";   // same length, data unmoved
            Encoding.ASCII.GetBytes(patched).CopyTo(bytes, 10);
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<TrainingDataException>(() => NpyFile.ReadInt32(path));
            Assert.Contains(expected, e.Message);
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Npy_TruncatedOrNotNpy_IsAnError()
    {
        string path = Temporary();
        try
        {
            NpyFile.WriteInt32(path, [1, 2, 3]);
            byte[] bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes[..^2]);
            Assert.Contains("truncated", Assert.Throws<TrainingDataException>(() => NpyFile.ReadInt32(path)).Message);
            File.WriteAllText(path, "step,loss\n0,1.5\n");
            Assert.Contains("not a NumPy .npy file", Assert.Throws<TrainingDataException>(() => NpyFile.ReadInt32(path)).Message);
            File.Delete(path);
            Assert.Contains("no such file", Assert.Throws<TrainingDataException>(() => TokenData.Load(path)).Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void IdAtOrAboveVocabulary_IsAnError_NamingItsPosition()
    {
        var random = new Random(3);
        int[] ids = Enumerable.Range(0, 500).Select(_ => random.Next(100)).ToArray();
        int position = random.Next(500);
        ids[position] = 100;
        var e = Assert.Throws<TrainingDataException>(() => new TokenData("ids.npy", ids).Check(100, 16));
        Assert.Contains($"token id 100 at position {position}", e.Message);
        Assert.Contains("ids.npy", e.Message);
        Assert.Contains("[0, 100)", e.Message);
        new TokenData("ids.npy", ids).Check(101, 16);
        ids[position] = -1;
        Assert.Contains($"token id -1 at position {position}", Assert.Throws<TrainingDataException>(() => new TokenData("ids.npy", ids).Check(101, 16)).Message);
    }

    [Fact]
    public void FewerThanSeqPlusOneTokens_IsAnError()
    {
        var data = new TokenData("short.npy", new int[16]);
        var e = Assert.Throws<TrainingDataException>(() => data.Check(10, 16));
        Assert.Contains("16 tokens, fewer than --seq + 1 = 17", e.Message);
        data.Check(10, 15);
    }

    [Fact]
    public void ByteTokens_AreTheUtf8Bytes_AndDecodeBack()
    {
        string text = "Call me Ishmael — naïve café, 東京.";
        int[] ids = ByteTokens.Encode(text);
        Assert.Equal(Encoding.UTF8.GetBytes(text).Select(b => (int)b), ids);
        Assert.All(ids, id => Assert.InRange(id, 0, 255));
        Assert.Equal(text, ByteTokens.Decode(ids));
        var data = TokenData.FromText("text", text);
        data.Check(ByteTokens.Vocabulary, 8);
        Assert.Throws<TrainingDataException>(() => data.Check(200, 8));   // é's bytes are ≥ 200
    }

    private static string Temporary() => Path.Combine(Path.GetTempPath(), $"shardgen-tokens-{Guid.NewGuid():N}.npy");
}
