using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using ShardGen.Checkpoints;
using ShardGen.Samples;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.TestSupport;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// samples/Train run as a user runs it: the printed losses equal the Trainer's in this process bit for bit and
/// PyTorch's within 1e-5 on P = 1, 2, 4 and D × P = 2 × 2; --loss-out and --save write what they say; every bad input
/// of issue 14 is one line on stderr with exit code 2.
/// </summary>
public sealed class TrainSampleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-train-sample-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void NoFlags_TrainsTheRandomModelOnTheShippedText()
    {
        // The sample's temporary checkpoint goes under a TMPDIR of its own, so other tests' folders cannot mix in.
        string temp = Directory.CreateDirectory(Path.Combine(_root, "tmp")).FullName;
        string dll = SampleDll(out string root);
        var run = DotnetProcess.Run(root, [dll, "--steps", "3"], new Dictionary<string, string> { ["TMPDIR"] = temp }, timeoutSeconds: 300).ShouldSucceed();
        Assert.Equal("", run.Error);   // no progress bar into a pipe
        double[] losses = Losses(run);
        Assert.Equal(3, losses.Length);
        Assert.All(losses, l => Assert.InRange(l, 1, 8));   // near ln 256 ≈ 5.5 at the start
        Assert.Matches(@"(?m)^step 0 loss \d\.\d{9,}", run.Output);   // at least 9 significant digits
        Assert.Matches(@"(?m)^tokens/s: \d+\.\d$", run.Output);
        Assert.Contains("Data/lighthouse.txt", run.Output);
        Assert.Empty(Directory.EnumerateDirectories(temp));   // the random checkpoint is deleted (the runtime may leave its own IPC files)
    }

    [Fact]
    public void PrintedLosses_AreTheTrainersInProcess_AndSaveWritesItsCheckpoint()
    {
        var (checkpoint, data) = Setup(seed: 1);
        string saved = Path.Combine(_root, "saved");
        var run = Run("--checkpoint", checkpoint, "--data", data, "--devices", "2", "--batch", "3", "--seq", "9", "--steps", "4", "--lr", "0.003",
            "--optimizer", "adamw", "--save", saved).ShouldSucceed();
        Assert.Contains($"saved: {saved}", run.Output);

        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Llama.Load(mesh, checkpoint);
        using var adamw = new AdamW(0.003);
        var tokens = TokenData.Load(data);
        var trainer = new Trainer([model], adamw, tokens, new TrainingBatches(tokens.Count, 3, 9));
        double[] expected = Enumerable.Range(0, 4).Select(_ => trainer.Step()).ToArray();
        Assert.Equal(expected, Losses(run));
        string ours = Path.Combine(_root, "ours");
        model.Training.Save(ours);
        Assert.Equal(File.ReadAllBytes(Path.Combine(ours, Checkpoint.SingleFile)), File.ReadAllBytes(Path.Combine(saved, Checkpoint.SingleFile)));
    }

    [TorchTheory]
    [InlineData("sgd", "0.5")]
    [InlineData("adamw", "0.01")]
    public void PrintedLosses_MatchPyTorch_OnOneTwoAndFourDevices_AndTwoReplicas_AndTheCsvHasThem(string optimizer, string lr)
    {
        var (checkpoint, data) = Setup(seed: 2);
        string[] batch = ["--data", data, "--batch", "4", "--seq", "8", "--steps", "4", "--lr", lr, "--optimizer", optimizer];
        string reference = Path.Combine(_root, "reference");
        TrainReference.Run(["train", checkpoint, .. batch, "--out", reference]);
        double[] expected = Reference.Npy.Read(Path.Combine(reference, "losses.npy")).Data;
        foreach (var (devices, replicas) in new[] { (1, 1), (2, 1), (4, 1), (2, 2) })
        {
            string csv = Path.Combine(_root, $"loss{devices}x{replicas}.csv");
            var run = Run(["--checkpoint", checkpoint, .. batch, "--devices", $"{devices}", "--data-parallel", $"{replicas}", "--loss-out", csv]).ShouldSucceed();
            double[] losses = Losses(run);
            for (int s = 0; s < expected.Length; s++)
                Assert.True(Math.Abs(losses[s] - expected[s]) <= 1e-5 * expected[s], $"D × P = {replicas} × {devices}, step {s}: {losses[s]:R} vs PyTorch {expected[s]:R}");
            Assert.Equal(losses, LossLog.ReadCsv(csv));
            Assert.True(new FileInfo(Path.ChangeExtension(csv, ".png")).Length > 1000);
        }
    }

    /// <summary>Under mpirun: one tensor-parallel group of 2 ranks, and 2 replicas × 2 ranks, print the in-process losses.</summary>
    [MpiRunFact]
    public void UnderMpi_TheLossesAreTheInProcessOnes()
    {
        var (checkpoint, data) = Setup(seed: 3);
        string[] flags = ["--checkpoint", checkpoint, "--data", data, "--batch", "4", "--seq", "8", "--steps", "3", "--lr", "0.01"];
        foreach (int replicas in new[] { 1, 2 })
        {
            double[] expected = Losses(Run([.. flags, "--devices", "2", "--data-parallel", $"{replicas}"]).ShouldSucceed());
            var run = MpiRun(2 * replicas, [.. flags, "--mpi", "--data-parallel", $"{replicas}"]);
            Assert.True(run.ExitCode == 0, run.Describe());
            Assert.Contains($"on {replicas} × 2 MPI ranks", run.Output);
            double[] losses = Losses(run);   // printed once: by rank 0 of replica 0
            Assert.Equal(expected.Length, losses.Length);
            for (int s = 0; s < expected.Length; s++)
                Assert.True(Math.Abs(losses[s] - expected[s]) <= 1e-6 * expected[s], $"{replicas} × 2 ranks, step {s}: {losses[s]:R} vs in process {expected[s]:R}");
        }
    }

    public static IEnumerable<object[]> BadInputs()
    {
        yield return ["ids", "token id 300 at position 17 is outside the model's vocabulary [0, 256)"];
        yield return ["short", "10 tokens, fewer than --seq + 1 = 65"];
        yield return ["--batch 3 --data-parallel 2", "--batch 3 is not divisible by --data-parallel 2"];
        yield return ["--lr 0", "--lr 0 must be a positive, finite number"];
        yield return ["--lr -1", "--lr -1 must be a positive, finite number"];
        yield return ["--optimizer sgd --lr 1e30 --steps 4", "The loss became NaN at step 1"];
        yield return ["save", "--save "];
        yield return ["--devices 3", "SHARD"];
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInput_IsOneLineOnStderr_ExitCode2(string flags, string expected)
    {
        string[] arguments = flags switch
        {
            "ids" => ["--data", Npy(Enumerable.Range(0, 100).Select(i => i == 17 ? 300 : i).ToArray())],
            "short" => ["--data", Npy(Enumerable.Range(0, 10).ToArray())],
            "save" => ["--save", Path.Combine(File.Exists(Path.Combine(_root, "file")) ? Path.Combine(_root, "file") : CreateFile(), "below")],
            _ => flags.Split(' '),
        };
        var run = Run(arguments);
        Assert.True(run.ExitCode == 2, run.Describe());
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, "one line on stderr\n" + run.Describe());
        Assert.Contains(expected, lines[0]);
    }

    private string CreateFile()
    {
        string file = Path.Combine(_root, "file");
        File.WriteAllText(file, "");
        return file;
    }

    private string Npy(int[] ids)
    {
        string path = Path.Combine(_root, $"ids-{Guid.NewGuid():N}.npy");
        NpyFile.WriteInt32(path, ids);
        return path;
    }

    // A LLaMA-family checkpoint whose vocabulary (103) divides no device count, and random ids.
    private (string Checkpoint, string Data) Setup(int seed)
    {
        string checkpoint = RandomCheckpoint.Write(Path.Combine(_root, $"ckpt{seed}"),
            new RandomCheckpointSpec(ModelFamily.Llama, 103, 32, 4, 4, 44, 2) { Seed = seed, Positions = 64 });
        var random = new Random(seed);
        return (checkpoint, Npy(Enumerable.Range(0, 300).Select(_ => random.Next(103)).ToArray()));
    }

    private static double[] Losses(DotnetResult run) =>
        Regex.Matches(run.Output, @"(?m)^step (\d+) loss (\S+)\r?$")
            .Select((m, i) => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == i ? double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : throw new InvalidDataException(m.Value))
            .ToArray();

    private static DotnetResult MpiRun(int ranks, string[] arguments)
    {
        string dll = SampleDll(out _);
        var psi = new System.Diagnostics.ProcessStartInfo(MpiRunFactAttribute.MpiRun!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["--allow-run-as-root", "--oversubscribe", "-np", $"{ranks}", "--mca", "btl", "self,vader",
                     "--mca", "btl_vader_single_copy_mechanism", "none", "--mca", "mpi_yield_when_idle", "1", "dotnet", dll, .. arguments])
            psi.ArgumentList.Add(a);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        using var process = System.Diagnostics.Process.Start(psi)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        bool finished = process.WaitForExit(300_000);
        if (!finished) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        return new DotnetResult("mpirun " + string.Join(' ', psi.ArgumentList), finished ? process.ExitCode : -1, !finished, output + error.Result, error.Result, TimeSpan.Zero);
    }

    internal static DotnetResult Run(params string[] arguments)
    {
        string dll = SampleDll(out string root);
        return DotnetProcess.Run(root, [dll, .. arguments], timeoutSeconds: 300);
    }

    // …/tests/ShardGen.Tests/bin/<Configuration>/<framework>/ → …/samples/Train/bin/<Configuration>/<framework>/Train.dll
    private static string SampleDll(out string root)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = dir.Name, configuration = dir.Parent!.Name;
        root = dir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        string dll = Path.Combine(root, "samples", "Train", "bin", configuration, framework, "Train.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        return dll;
    }
}

/// <summary>A fact that needs Open MPI's mpirun on PATH; skipped without it.</summary>
public sealed class MpiRunFactAttribute : FactAttribute
{
    public static string? MpiRun { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    public MpiRunFactAttribute()
    {
        if (MpiRun is null) Skip = "mpirun is not on PATH: apt-get install openmpi-bin libopenmpi-dev.";
    }
}
