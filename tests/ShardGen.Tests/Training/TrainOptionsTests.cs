using System;
using System.IO;
using System.Linq;
using ShardGen.Samples;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>samples/Train's flags: every issue-14 flag parsed; each bad value one line naming the flag and the fix.</summary>
public sealed class TrainOptionsTests
{
    [Fact]
    public void EveryFlag_IsParsed()
    {
        string save = Path.Combine(Path.GetTempPath(), $"shardgen-save-{Guid.NewGuid():N}");
        try
        {
            var o = TrainOptions.Parse(["--checkpoint", "ck", "--devices", "2", "--data-parallel", "2", "--data", "t.npy", "--batch", "8", "--seq", "32",
                "--steps", "5", "--lr", "2.5e-4", "--optimizer", "sgd", "--save", save, "--loss-out", "l.csv", "--backend", "cpu", "--mpi"], out string? error);
            Assert.Null(error);
            Assert.Equal(new TrainOptions
            {
                Checkpoint = "ck", Devices = 2, DataParallel = 2, Data = "t.npy", Batch = 8, Sequence = 32, Steps = 5, LearningRate = 2.5e-4,
                Optimizer = "sgd", Save = save, LossOut = "l.csv", Backend = "cpu", Mpi = true,
            }, o);
            Assert.True(Directory.Exists(save));
            Assert.Empty(Directory.GetFileSystemEntries(save));   // the write probe is gone
        }
        finally { if (Directory.Exists(save)) Directory.Delete(save, true); }
    }

    [Fact]
    public void NoFlags_AreTheDefaults() => Assert.Equal(new TrainOptions(), TrainOptions.Parse([], out _));

    [Theory]
    [InlineData("--lr 0", "--lr 0 must be a positive, finite number")]
    [InlineData("--lr -1e-3", "--lr -1e-3 must be a positive, finite number")]
    [InlineData("--lr NaN", "--lr NaN must be a positive, finite number")]
    [InlineData("--lr Infinity", "--lr Infinity must be a positive, finite number")]
    [InlineData("--lr abc", "--lr abc must be a positive, finite number")]
    [InlineData("--batch 6 --data-parallel 4", "--batch 6 is not divisible by --data-parallel 4")]
    [InlineData("--data-parallel 3", "--batch 4 is not divisible by --data-parallel 3")]
    [InlineData("--devices 0", "--devices 0 must be a positive whole number")]
    [InlineData("--seq 1.5", "--seq 1.5 must be a positive whole number")]
    [InlineData("--steps -2", "--steps -2 must be a positive whole number")]
    [InlineData("--optimizer adam", "--optimizer 'adam' is not an optimizer: use sgd or adamw")]
    [InlineData("--batch", "--batch needs a value")]
    [InlineData("--data --batch 2", "--data needs a value")]
    [InlineData("--epochs 3", "unknown option '--epochs'")]
    public void BadFlags_AreOneLineErrors(string args, string expected)
    {
        Assert.Null(TrainOptions.Parse(args.Split(' '), out string? error));
        Assert.NotNull(error);
        Assert.StartsWith(expected, error);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void SaveFolderNotWritable_IsAnError()
    {
        string file = Path.GetTempFileName();
        try
        {
            Assert.Null(TrainOptions.Parse(["--save", file], out string? error));
            Assert.StartsWith($"--save {file} is not writable: it is a file", error);
            Assert.Null(TrainOptions.Parse(["--save", Path.Combine(file, "below")], out error));
            Assert.StartsWith($"--save {Path.Combine(file, "below")} is not writable: ", error);
            Assert.DoesNotContain("\n", error!);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void ShippedText_IsByteLevelTrainingData()
    {
        string path = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(Reference.TorchReference.Script)!)!)!, "samples", "Train", "Data", "lighthouse.txt");
        Assert.True(File.Exists(path), path);
        var data = TokenData.FromText(path, File.ReadAllText(path));
        Assert.InRange(data.Count, 2000, 20000);
        data.Check(ByteTokens.Vocabulary, 128);
        Assert.True(data.Ids.Distinct().Count() > 40, "a real text uses many distinct bytes");
    }
}
