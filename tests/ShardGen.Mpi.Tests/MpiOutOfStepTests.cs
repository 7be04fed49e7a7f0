using System;
using System.Collections.Generic;
using System.Linq;
using Xunit.Abstractions;

namespace ShardGen.Mpi.Tests;

/// <summary>
/// Ranks that fall out of the SPMD order end the job within seconds, with ShardGen's message naming the ranks and
/// their steps, instead of hanging. The host runs each scenario on 4 ranks with a 4 s timeout; mpirun is killed after
/// 60 s, the default timeout, so a hang or an ignored timeout fails the test.
/// </summary>
public sealed class MpiOutOfStepTests
{
    private const int TimeoutSeconds = 4;
    private readonly ITestOutputHelper _output;

    public MpiOutOfStepTests(ITestOutputHelper output) => _output = output;

    private (MpiRun Run, string[] Aborts) RunScenario(string scenario)
    {
        var run = MpiJob.Run(4, new[] { scenario }, timeoutSeconds: 60,
            environment: new Dictionary<string, string> { [MpiRuntime.TimeoutVariable] = TimeoutSeconds.ToString() });
        _output.WriteLine(run.ToString());
        Assert.False(run.TimedOut, "the job hung instead of aborting");
        Assert.NotEqual(0, run.ExitCode);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(45), $"took {run.Elapsed.TotalSeconds:F1} s");
        // ShardGen's own lines: from each rank's file (the host copies standard error there) and from mpirun's output.
        var aborts = run.Lines("ShardGen.Mpi: rank ")
            .Concat(run.Output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith("ShardGen.Mpi: rank ", StringComparison.Ordinal)))
            .Where(l => l.Contains("aborts the MPI job: the ranks are out of step", StringComparison.Ordinal))
            .ToArray();
        Assert.NotEmpty(aborts);
        return (run, aborts);
    }

    [MpiFact]
    public void RankThatCatchesItsForwardExceptionAndGoesOn_AbortsAtOnce_NamingBothSteps()
    {
        var (run, aborts) = RunScenario("caught");
        Assert.Single(run.Lines("CAUGHT rank=1"));
        // Rank 1 left forward 1 at its all-reduce and started forward 2; the others wait in forward 1's all-reduce.
        Assert.Contains(aborts, l => l.Contains("rank 1 is at forward 2 step 1 'input check over world'")
            && l.Contains("ranks 0,2,3 are at forward 1 step 2 'all-reduce over world, 1,536 floats'"));
        Assert.DoesNotContain(aborts, l => l.Contains("waited")); // seen from the headers, not the timeout
        Assert.Empty(run.Lines("FINISHED"));
    }

    [MpiFact]
    public void RankThatReturnsFromMainBeforeForward_AbortsAtOnce_NamingIt()
    {
        var (run, aborts) = RunScenario("early");
        Assert.Single(run.Lines("EARLY rank=1"));
        Assert.Contains(aborts, l => l.Contains("rank 1 is done: returned from Main and finalizing MPI after 0 forwards")
            && l.Contains("at forward 1 step 1 'input check over world'"));
        Assert.DoesNotContain(aborts, l => l.Contains("waited")); // its leaving notice, not the timeout
        Assert.Empty(run.Lines("FINISHED"));
    }

    [MpiFact]
    public void RankZeroRunningOneExtraForward_AbortsAtOnce_NamingTheRanksThatLeft()
    {
        var (run, aborts) = RunScenario("extra");
        Assert.Contains(aborts, l => l.Contains("rank 0 is at forward 2 step 1 'input check over world'")
            && l.Contains("done: returned from Main and finalizing MPI after 1 forward"));
        Assert.DoesNotContain(aborts, l => l.Contains("waited"));
        // Ranks 1–3 finished their one forward; rank 0 never finished its second.
        Assert.Equal(new[] { 1, 2, 3 }, run.Lines("FINISHED").Select(l => int.Parse(l.Split(' ')[1]["rank=".Length..])).OrderBy(r => r));
    }

    [MpiFact]
    public void RankStuckInItsOwnCode_AbortsAfterTheTimeout_NamingTheRankThatDoesNotAnswer()
    {
        var (run, aborts) = RunScenario("stuck");
        Assert.Single(run.Lines("STUCK rank=1"));
        Assert.Contains(aborts, l => l.Contains($"waited {TimeoutSeconds} s (the timeout, {MpiRuntime.TimeoutVariable}) at forward 1 step 1 'input check over world'")
            && l.Contains("rank 1 does not answer"));
        Assert.True(run.Elapsed >= TimeSpan.FromSeconds(TimeoutSeconds), $"aborted after {run.Elapsed.TotalSeconds:F1} s, before the timeout");
        Assert.Empty(run.Lines("FINISHED"));
    }

    [MpiFact]
    public void RankSlowerThanTheOthers_UnderTheTimeout_IsWaitedForWithoutBusySpinning()
    {
        var run = MpiJob.Run(4, new[] { "slow" }, timeoutSeconds: 60,
            environment: new Dictionary<string, string> { [MpiRuntime.TimeoutVariable] = "20" });
        _output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0 && !run.TimedOut, run.ToString());
        var lines = run.Lines("SLOW").ToDictionary(l => int.Parse(l.Split(' ')[1]["rank=".Length..]));
        Assert.Equal(4, lines.Count);
        double Field(string line, string key) => double.Parse(line.Split(' ').Single(f => f.StartsWith(key + "=", StringComparison.Ordinal))[(key.Length + 1)..]);
        Assert.All(lines.Values, l => Assert.True(Field(l, "vsReference") < 1e-4, l));
        foreach (int r in new[] { 0, 2, 3 })
        {
            // Rank r waited about 3 s for rank 1 in its Forward; a spinning wait would burn about as much CPU time.
            double wall = Field(lines[r], "wallMs"), cpu = Field(lines[r], "cpuMs");
            Assert.True(wall >= 2500, lines[r]);
            Assert.True(cpu < 0.05 * wall, $"rank {r} used {cpu} ms of CPU while waiting {wall} ms: {lines[r]}");
        }
    }
}
