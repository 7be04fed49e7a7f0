using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace ShardGen.Mpi.Tests;

/// <summary>
/// Data × tensor parallelism on MPI ranks: mpirun -np 4 as 2 replicas × 2 devices (MpiDeviceMesh.CreateReplica) trains
/// TinyLlama 3 SGD steps with the gradients summed across replicas over MPI, and must give the losses and gradients of
/// the in-process 2 × 2 run (DataParallelMesh); a rank count D does not divide is refused on every rank.
/// </summary>
public sealed class MpiDataParallelTests
{
    private readonly ITestOutputHelper _output;

    public MpiDataParallelTests(ITestOutputHelper output) => _output = output;

    [MpiFact]
    public void TwoReplicasOfTwoDevices_MatchTheInProcessRun()
    {
        var run = MpiJob.Run(4, new[] { "dp" }, timeoutSeconds: 240);
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Lines("DP ").ToArray();
        Assert.Equal(4, lines.Length);
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
        // The replicas see different windows: their loss sums differ, and device 0 and 1 of one replica agree.
        string Losses0(int rank) => Regex.Match(lines.Single(l => l.StartsWith($"DP rank={rank} ")), @"\bmpi=(\S+)").Groups[1].Value;
        Assert.Equal(Losses0(0), Losses0(1));
        Assert.Equal(Losses0(2), Losses0(3));
        Assert.NotEqual(Losses0(0), Losses0(2));
    }

    [MpiFact]
    public void ARankCountTheReplicasDoNotDivide_IsRefusedOnEveryRank()
    {
        var run = MpiJob.Run(3, new[] { "dp-odd" });
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Lines("DPODD ").ToArray();
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Contains("refused=True The MPI job has 3 ranks, not a multiple of 2 replicas", l));
    }
}
