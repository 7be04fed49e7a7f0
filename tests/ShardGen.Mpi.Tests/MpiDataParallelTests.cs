using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace ShardGen.Mpi.Tests;

/// <summary>
/// Data × tensor parallelism on MPI ranks: mpirun -np 4 as 2 replicas × 2 devices (and -np 2 as 2 × 1; MpiDeviceMesh.CreateReplica) trains
/// TinyLlama 3 steps with the Trainer (SGD, AdamW), the gradients summed across replicas over MPI, and must give the losses and gradients of
/// the in-process run of the same D × P (DataParallelMesh); a rank count D does not divide is refused on every rank.
/// </summary>
public sealed class MpiDataParallelTests
{
    private readonly ITestOutputHelper _output;

    public MpiDataParallelTests(ITestOutputHelper output) => _output = output;

    [MpiFact]
    public void TwoReplicasOfTwoDevices_MatchTheInProcessRun() => AssertMatchesInProcess(4);

    [MpiFact]
    public void TwoReplicasOfOneDevice_MatchTheInProcessRun() => AssertMatchesInProcess(2);

    private void AssertMatchesInProcess(int ranks)
    {
        var run = MpiJob.Run(ranks, new[] { "dp" }, timeoutSeconds: 300);
        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (string optimizer in new[] { "sgd", "adamw" })
        {
            var lines = run.Lines($"DP {optimizer} ").ToArray();
            Assert.Equal(ranks, lines.Length);
            foreach (var line in lines)
            {
                _output.WriteLine(line);
                string Field(string key) => Regex.Match(line, $@"\b{key}=(\S+)").Groups[1].Value;
                double[] Losses(string key) => Field(key).Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                double[] mpi = Losses("mpi"), local = Losses("inProcess");
                Assert.Equal(3, mpi.Length);
                for (int s = 0; s < 3; s++)
                    Assert.True(Math.Abs(mpi[s] - local[s]) <= 1e-5 * Math.Abs(local[s]), $"step {s}: {mpi[s]:R} on MPI vs {local[s]:R} in process ({line})");
                Assert.True(double.Parse(Field("gradientDiff"), CultureInfo.InvariantCulture) <= 1e-5, line);
                // Each of 3 steps sends a ring all-reduce's 2(D−1)/D = 1 of the device's gradient bytes (D = 2, chunks rounded).
                long sent = long.Parse(Field("sent")), gradientBytes = long.Parse(Field("gradientBytes")), calls = long.Parse(Field("calls"));
                Assert.InRange(sent, 3 * gradientBytes - calls * 2 * sizeof(float), 3 * gradientBytes + calls * 2 * sizeof(float));
            }
            // The loss is the global batch's mean: the same on every rank of every replica.
            Assert.Single(lines.Select(l => Regex.Match(l, @"\bmpi=(\S+)").Groups[1].Value).Distinct());
        }
    }

    [MpiFact]
    public void ARankCountThatIsNotDTimesP_IsRefusedOnEveryRank()
    {
        var run = MpiJob.Run(3, new[] { "dp-odd" });
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Lines("DPODD ").ToArray();
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Contains("refused=True The MPI job has 3 ranks, not a multiple of 2 replicas", l));
        lines = run.Lines("DPSIZE ").ToArray();
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Contains("refused=True The MPI job has 3 ranks, but 1 replicas × 2 devices need 2: start it with mpirun -np 2", l));
    }
}
