using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using ShardGen.Checkpoints;
using Xunit.Abstractions;

namespace ShardGen.Mpi.Tests;

/// <summary>
/// samples/Generate under mpirun: the same ids as the in-process run on as many devices, and shard on load: each
/// rank's peak private memory grows by well under the model's bytes when the checkpoint grows (its peak RSS, which
/// also counts the mapped file pages it touched, is reported beside it).
/// </summary>
public sealed class MpiGenerateTests : IDisposable
{
    private readonly ITestOutputHelper _output;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "shardgen-mpi-gen-" + Guid.NewGuid().ToString("N"));

    public MpiGenerateTests(ITestOutputHelper output)
    {
        _output = output;
        Directory.CreateDirectory(_directory);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [MpiFact]
    public void GenerateSample_On2Ranks_GivesTheInProcessIds_Greedy_AndSeeded()
    {
        string dll = MpiJob.Sample("Generate");
        Assert.True(File.Exists(dll), $"{dll} was not built.");
        string checkpoint = Path.Combine(_directory, "small");
        RandomCheckpoint.Write(checkpoint, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 1001, Hidden: 64, Heads: 4, KvHeads: 2, FfnHidden: 96, Layers: 2) { Seed = 3 });
        foreach (var sampling in new[] { Array.Empty<string>(), new[] { "--temperature", "0.8", "--top-p", "0.9", "--seed", "11" } })
        {
            string[] flags = ["--checkpoint", checkpoint, "--prompt-ids", "9,8,7,1000", "--max-new-tokens", "10", .. sampling];
            var (code, inProcess) = MpiJob.RunDotnet(dll, [.. flags, "--devices", "2"]);
            Assert.True(code == 0, inProcess);
            var run = MpiJob.Run(2, dll, [.. flags, "--mpi"], timeoutSeconds: 120);
            _output.WriteLine(run.ToString());
            Assert.True(run.ExitCode == 0 && !run.TimedOut, run.ToString());
            Assert.Equal(Generated(inProcess), Generated(run.Output));
            Assert.Contains("loaded on 2 MPI ranks", run.Output);
            Assert.Matches(@"peak RSS per rank \(VmHWM\): rank 0 \d+\.\d MB, rank 1 \d+\.\d MB; peak private \(RssAnon\): rank 0 \d+\.\d MB, rank 1 \d+\.\d MB", run.Output);
        }
    }

    [MpiFact]
    public void ShardOnLoad_EachRanksPeakPrivateMemoryGrowsByLessThanTheModel()
    {
        string dll = MpiJob.Sample("Generate");
        Assert.True(File.Exists(dll), $"{dll} was not built.");
        string small = Path.Combine(_directory, "small"), large = Path.Combine(_directory, "large");
        RandomCheckpoint.Write(small, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 1000, Hidden: 64, Heads: 8, KvHeads: 8, FfnHidden: 96, Layers: 1));
        // 240 MB of float32: vocab 32000 × hidden 512 twice (embedding, head) and 8 layers of FFN 1536.
        RandomCheckpoint.Write(large, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 32000, Hidden: 512, Heads: 8, KvHeads: 8, FfnHidden: 1536, Layers: 8));
        long modelBytes = new FileInfo(Path.Combine(large, "model.safetensors")).Length;

        // Each rank's (VmHWM, peak RssAnon) from its --out file.
        (long Resident, long Private)[] Peaks(string checkpoint)
        {
            var run = MpiJob.Run(2, dll, ["--mpi", "--checkpoint", checkpoint, "--max-new-tokens", "2"], timeoutSeconds: 180);
            _output.WriteLine(run.ToString());
            Assert.True(run.ExitCode == 0 && !run.TimedOut, run.ToString());
            return run.Lines("peak RSS rank ").OrderBy(l => l).Select(l => l.Split(' ')).Select(f => (long.Parse(f[^2]), long.Parse(f[^1]))).ToArray();
        }
        var baseline = Peaks(small);
        var peaks = Peaks(large);
        Assert.Equal(2, peaks.Length);
        for (int r = 0; r < 2; r++)
        {
            double privateGrowth = (peaks[r].Private - baseline[r].Private) / (double)modelBytes;
            double residentGrowth = (peaks[r].Resident - baseline[r].Resident) / (double)modelBytes;
            _output.WriteLine($"rank {r}, {modelBytes / 1e6:F0} MB model against a tiny one: peak private memory (RssAnon) " +
                              $"{peaks[r].Private / 1e6:F1} MB (+{privateGrowth:F2} of the model), peak RSS (VmHWM, with touched mapped pages) " +
                              $"{peaks[r].Resident / 1e6:F1} MB (+{residentGrowth:F2})");
            // Each rank's own half of the weights plus the loader's bounded blocks; the whole model would be ≥ 1.
            Assert.True(privateGrowth < 0.75, $"rank {r}: peak private memory grew by {privateGrowth:F2} of the model's bytes: more than its half of the weights");
        }
    }

    private static int[] Generated(string output)
    {
        string line = output.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("generated: ", StringComparison.Ordinal));
        return line["generated: ".Length..].Split(' ').Select(int.Parse).ToArray();
    }
}
