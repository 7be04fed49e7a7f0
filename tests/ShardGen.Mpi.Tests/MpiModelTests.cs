using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace ShardGen.Mpi.Tests;

/// <summary>One mpirun per rank count, running every model case; the tests read its per-rank lines.</summary>
public sealed class MpiModelRuns
{
    public static readonly string[] AllCases = { "mlp", "columncolumn", "threelayer", "summa", "summatorch", "mixed", "transformer-sp", "transformer" };

    private readonly Dictionary<int, Lazy<MpiRun>> _runs = new[] { 2, 4 }.ToDictionary(p => p, p => new Lazy<MpiRun>(() => MpiJob.Run(p, AllCases)));

    public MpiRun Ranks(int p) => _runs[p].Value;
}

[CollectionDefinition("mpi")]
public sealed class MpiCollection : ICollectionFixture<MpiModelRuns>
{
}

/// <summary>
/// The generated models on MPI ranks (one CPU device per process) against the in-process mesh of the same size
/// (same weights and inputs: relative error &lt; 1e-6, identical collectives and bytes per device) and against a
/// double-precision reference (&lt; 1e-4); each rank holds only its own shards.
/// </summary>
[Collection("mpi")]
public sealed class MpiModelTests
{
    private readonly MpiModelRuns _runs;
    private readonly ITestOutputHelper _output;

    public MpiModelTests(MpiModelRuns runs, ITestOutputHelper output)
    {
        _runs = runs;
        _output = output;
    }

    private sealed record CaseLine(int Rank, bool Ok, double VsInProcess, double VsReference, string Traffic, long[] BytesPerDevice,
        long[] InProcessBytes, long LocalWeights, long WholeWeights, string Report, string Text);

    private IReadOnlyList<CaseLine> Case(int ranks, string name)
    {
        var run = _runs.Ranks(ranks);
        _output.WriteLine($"mpirun -np {ranks}: exit {run.ExitCode} in {run.Elapsed.TotalSeconds:F1} s");
        Assert.False(run.TimedOut, run.ToString());
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.Lines($"CASE {name} ").Select(Parse).OrderBy(l => l.Rank).ToArray();
        foreach (var l in lines) _output.WriteLine(l.Text);
        Assert.Equal(Enumerable.Range(0, ranks), lines.Select(l => l.Rank));
        return lines;
    }

    private static CaseLine Parse(string text)
    {
        string Field(string key) => Regex.Match(text, $@"\b{key}=(\S+)").Groups[1].Value;
        long[] Longs(string key) => Field(key).Split(',').Select(long.Parse).ToArray();
        var weights = Field("localWeights").Split('/');
        return new CaseLine(int.Parse(Field("rank")), bool.Parse(Field("ok")), double.Parse(Field("vsInProcess")), double.Parse(Field("vsReference")),
            Field("traffic"), Longs("bytesPerDevice"), Longs("inProcess"), long.Parse(weights[0]), long.Parse(weights[1]),
            text[(text.IndexOf(" | ", StringComparison.Ordinal) + 3)..], text);
    }

    private void AssertMatches(int ranks, string name)
    {
        var lines = Case(ranks, name);
        foreach (var l in lines)
        {
            Assert.True(l.VsInProcess < 1e-6, l.Text);
            Assert.True(l.VsReference < 1e-4, l.Text);
            Assert.Equal("same", l.Traffic);
            Assert.Equal(l.InProcessBytes, l.BytesPerDevice);
            // 1/P of the model on each rank (every model here splits all of its weights evenly, biases aside).
            Assert.True(l.LocalWeights * ranks <= l.WholeWeights * 1.05, l.Text);
            Assert.True(l.Ok, l.Text);
        }
        // Every rank prints the same whole-mesh report.
        Assert.Single(lines.Select(l => l.Report).Distinct());
    }

    [MpiFact]
    public void ColumnThenRowMlp_On2Ranks_MatchesInProcessAndReference() => AssertMatches(2, "mlp");

    [MpiFact]
    public void ColumnThenRowMlp_On4Ranks_MatchesInProcessAndReference() => AssertMatches(4, "mlp");

    [MpiFact]
    public void ColumnThenRowMlp_TrafficIsTheRingFormula()
    {
        foreach (int p in new[] { 2, 4 })
        {
            long n = 24 * 64 * sizeof(float);
            var lines = Case(p, "mlp");
            // One all-reduce: 2(P−1)/P·N bytes per device, on every device, gathered over MPI into every rank's report.
            Assert.All(lines, l => Assert.All(l.BytesPerDevice, b => Assert.Equal(2 * (p - 1) * n / p, b)));
            Assert.All(lines, l => Assert.StartsWith("1 all-reduce;", l.Report));
        }
    }

    [MpiFact]
    public void AllGatherAndReduceScatterOfColumnShards_On2And4Ranks()
    {
        foreach (int p in new[] { 2, 4 })
        {
            AssertMatches(p, "columncolumn");
            AssertMatches(p, "threelayer");
        }
    }

    [MpiFact]
    public void Summa2D_On4Ranks_UsesGridRowAndColumnCommunicators()
    {
        AssertMatches(4, "summa");
        AssertMatches(4, "summatorch");
        AssertMatches(4, "mixed");
        Assert.Contains("8 broadcasts", Case(4, "summa")[0].Report);
        Assert.Contains("4 reduces", Case(4, "summatorch")[0].Report);
        // 2 ranks are not a square: the host skips the 2D cases rather than failing.
        Assert.Contains(_runs.Ranks(2).Lines("SKIP summa"), l => l.Contains("square"));
    }

    [MpiFact]
    public void TransformerBlocksWithSequenceParallelism_On2And4Ranks()
    {
        AssertMatches(2, "transformer-sp");
        AssertMatches(4, "transformer-sp");
        Assert.Contains("all-gathers", Case(4, "transformer-sp")[0].Report);
        Assert.Contains("reduce-scatters", Case(4, "transformer-sp")[0].Report);
    }

    /// <summary>
    /// A generated language model on 2 and 4 ranks: logits match the double-precision reference, cache decoding matches
    /// recomputation, and each rank reads about 1/P of the weights from the source (its own slices; norms and, on 4
    /// ranks, the replicated KV heads aside).
    /// </summary>
    [MpiFact]
    public void LanguageModel_On2And4Ranks_ReadsOnlyItsOwnSlices()
    {
        foreach (int ranks in new[] { 2, 4 })
        {
            var run = MpiJob.Run(ranks, new[] { "lm" });
            Assert.True(run.ExitCode == 0, run.ToString());
            var lines = run.Lines("LM ").ToArray();
            Assert.Equal(ranks, lines.Length);
            foreach (var line in lines)
            {
                _output.WriteLine(line);
                double Field(string key) => double.Parse(Regex.Match(line, $@"\b{key}=(\S+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(Field("vsReference") < 2e-5, line);
                Assert.True(Field("cacheVsRecompute") < 1e-5, line);
                Assert.True(Field("read") < Field("whole") * (1.0 / ranks + 0.05), line);
            }
        }
    }

    /// <summary>
    /// An F32 checkpoint loaded with the generated Load on 2 and 4 ranks: each rank's CPU device views its slices in
    /// place ([out, in] views) about 1/P of the file's floats, the logits equal a copied load's, and each rank has its
    /// slices' pages resident and far from the whole file (whole page-cache folios around each slice's ends).
    /// </summary>
    [MpiFact]
    public void CheckpointLoadedInPlace_On2And4Ranks_MapsOnlyItsOwnSlices()
    {
        string dir = System.IO.Directory.CreateTempSubdirectory("shardgen-mpi-mapped-").FullName;
        try
        {
            ShardGen.Checkpoints.RandomCheckpoint.Write(dir, new ShardGen.Checkpoints.RandomCheckpointSpec(ShardGen.Checkpoints.ModelFamily.Llama,
                Vocab: 32000, Hidden: 256, Heads: 8, KvHeads: 4, FfnHidden: 512, Layers: 2) { Seed = Environment.TickCount, Tied = false });
            foreach (int ranks in new[] { 2, 4 })
            {
                var run = MpiJob.Run(ranks, new[] { "lm-mapped=" + dir });
                Assert.True(run.ExitCode == 0, run.ToString());
                var lines = run.Lines("MAPPED ").ToArray();
                Assert.Equal(ranks, lines.Length);
                foreach (var line in lines)
                {
                    _output.WriteLine(line);
                    double Field(string key) => double.Parse(Regex.Match(line, $@"\b{key}=(\S+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    Assert.Contains("viewed=True", line);
                    Assert.True(Field("vsCopied") < 1e-5, line);
                    Assert.True(Field("own") < Field("file") * (1.0 / ranks + 0.02), line);
                    // Resident pages: its own slices, plus what the kernel maps around each slice's ends with the page
                    // cache's large folios (measured 3–8 MB of this 70 MB file): far from the whole file.
                    Assert.True(Field("resident") >= 0.95 * Field("own") && Field("resident") < Field("own") + 0.15 * Field("file"), line);
                }
            }
        }
        finally
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// A BF16 checkpoint loaded with keepBFloat16 on 2 and 4 ranks: each rank's device holds its slices in BF16 (about half
    /// of 1/P of the widened model's bytes) and the logits equal a widened load's on one local device.
    /// </summary>
    [MpiFact]
    public void BFloat16CheckpointKeptInBFloat16_On2And4Ranks()
    {
        string dir = System.IO.Directory.CreateTempSubdirectory("shardgen-mpi-bf16-").FullName;
        try
        {
            ShardGen.Checkpoints.RandomCheckpoint.Write(dir, new ShardGen.Checkpoints.RandomCheckpointSpec(ShardGen.Checkpoints.ModelFamily.Llama,
                Vocab: 4000, Hidden: 128, Heads: 8, KvHeads: 4, FfnHidden: 256, Layers: 2)
                { Seed = Environment.TickCount, Tied = false, DType = ShardGen.Checkpoints.SafetensorsDType.BF16 });
            foreach (int ranks in new[] { 2, 4 })
            {
                var run = MpiJob.Run(ranks, new[] { "lm-bf16=" + dir });
                Assert.True(run.ExitCode == 0, run.ToString());
                var lines = run.Lines("BF16 ").ToArray();
                Assert.Equal(ranks, lines.Length);
                foreach (var line in lines)
                {
                    _output.WriteLine(line);
                    double Field(string key) => double.Parse(Regex.Match(line, $@"\b{key}=(\S+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    Assert.True(Field("vsWidened") < 1e-5, line);
                    // Matrices at two bytes; norms (replicated, four bytes) are a few KB.
                    Assert.True(Field("kept") < 0.56 * Field("widenedWhole") / ranks && Field("kept") > 0.44 * Field("widenedWhole") / ranks, line);
                }
            }
        }
        finally
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
    }

    [MpiFact]
    public void TransformerBlockWithoutSequenceParallelism_On2And4Ranks()
    {
        AssertMatches(2, "transformer");
        AssertMatches(4, "transformer");
    }
}

/// <summary>What goes wrong: a rank that throws, input that differs between ranks, .NET's own signals under MPI.</summary>
public sealed class MpiFailureTests
{
    private readonly ITestOutputHelper _output;

    public MpiFailureTests(ITestOutputHelper output) => _output = output;

    [MpiFact]
    public void RankThatThrows_AbortsTheJobWithItsMessage_WithoutHanging()
    {
        var run = MpiJob.Run(4, new[] { "throw" }, timeoutSeconds: 60);
        _output.WriteLine(run.ToString());
        Assert.False(run.TimedOut, "the job hung instead of aborting");
        Assert.NotEqual(0, run.ExitCode);
        // ShardGen's own message, which rank 1 writes (flushed) before MPI_Abort, not Open MPI's abort text, which
        // it may fail to print under load; the host copies standard error into rank 1's file.
        Assert.Contains(run.Lines("ShardGen.Mpi: rank 1 failed, aborting the MPI job"), l => l.Contains("deliberate failure on rank 1"));
        Assert.Contains("ShardGen.Mpi: rank 1 failed", run.Output);
        Assert.Empty(run.Lines("THROW"));
    }

    [MpiFact]
    public void WeightsThatDifferBetweenRanks_AreRefusedByCreateOnEveryRank_NamingLayerAndRanks()
    {
        var run = MpiJob.Run(4, new[] { "weights" });
        _output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0 && !run.TimedOut, run.ToString());
        var lines = run.Lines("WEIGHTS").ToArray();
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.Contains("detected=True", l));
        // Ranks 1 and 3 changed one element of Down; Up is the same everywhere, so only Down is named.
        Assert.All(lines, l => Assert.Contains("the weights differ from rank 0's in layer 'Down' on ranks 1,3 ", l));
        Assert.All(lines, l => Assert.DoesNotContain("'Up'", l));
        // Refused before anything was uploaded.
        Assert.All(lines, l => Assert.Equal(Regex.Match(l, @"allocatedBefore=(\d+)").Groups[1].Value, Regex.Match(l, @"allocatedAfter=(\d+)").Groups[1].Value));
        var after = run.Lines("AFTER-WEIGHTS").ToArray();
        Assert.Equal(4, after.Length);
        Assert.All(after, l => Assert.Matches(@"vsReference=\d\.\d+E-0(0[5-9]|1\d)", l));
    }

    [MpiFact]
    public void ForwardAfterTheMeshIsDisposed_NamesTheModelAndTheMesh_OnEveryRank()
    {
        var run = MpiJob.Run(2, new[] { "disposed" });
        _output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0 && !run.TimedOut, run.ToString());
        var lines = run.Lines("DISPOSED").ToArray();
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Contains("refused=True object=Mlp isDisposed=True", l));
        Assert.All(lines, l => Assert.Contains("was disposed", l));
    }

    [MpiFact]
    public void OutputUnderMpirun_HasNoTerminalEscape()
    {
        // Open MPI gives each rank a pseudo-terminal as standard output; .NET's console would switch it to keypad mode.
        var run = MpiJob.Run(2, new[] { "mlp" });
        _output.WriteLine(run.ToString());
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("HOST 2 ranks", run.Output);
        Assert.DoesNotContain('\u001b', run.Output);
    }

    [MpiFact]
    public void InputThatDiffersBetweenRanks_IsDetectedOnEveryRank()
    {
        var run = MpiJob.Run(2, new[] { "mismatch", "nullref" });
        _output.WriteLine(run.ToString());
        Assert.Equal(0, run.ExitCode);
        var detected = run.Lines("MISMATCH").ToArray();
        Assert.Equal(2, detected.Length);
        Assert.All(detected, l => Assert.Contains("detected=True", l));
        Assert.All(detected, l => Assert.Contains("differs between MPI ranks", l));
        Assert.All(detected, l => Assert.Contains("rank 1: x [24, 64]", l));
        // The refused pass left the mesh usable.
        Assert.All(run.Lines("AFTER-MISMATCH"), l => Assert.Matches(@"vsReference=\d\.\d+E-0(0[5-9]|1\d)", l));
        Assert.Equal(2, run.Lines("AFTER-MISMATCH").Count());
        // NullReferenceException (SIGSEGV underneath) still works with Open MPI's signal handlers installed.
        Assert.Equal(2, run.Lines("NULLREF").Count(l => l.Contains("caught=True")));
    }
}

/// <summary>samples/MegatronMlp under mpirun prints, on rank 0, the in-process run's report with the same numbers.</summary>
public sealed class MpiSampleTests
{
    private readonly ITestOutputHelper _output;

    public MpiSampleTests(ITestOutputHelper output) => _output = output;

    [MpiFact]
    public void MegatronMlpSample_On4Ranks_PrintsTheInProcessReport()
    {
        Assert.True(System.IO.File.Exists(MpiJob.SampleDll), $"{MpiJob.SampleDll} was not built.");
        var (code, inProcess) = MpiJob.RunDotnet(MpiJob.SampleDll, "--devices", "4", "--tokens", "64");
        Assert.True(code == 0, inProcess);
        var run = MpiJob.Run(4, MpiJob.SampleDll, new[] { "--mpi", "--tokens", "64" }, timeoutSeconds: 120);
        _output.WriteLine(run.ToString());
        Assert.True(run.ExitCode == 0 && !run.TimedOut, run.ToString());
        Assert.DoesNotContain('\u001b', run.Output); // no terminal escape from .NET's console (keypad mode) under mpirun

        // Everything but the timing and the error's last digits is the same text: plan, collectives, bytes per device.
        static string[] Report(string text) => text.Split('\n').Select(l => l.TrimEnd('\r'))
            .Where(l => l.Length > 0 && !l.StartsWith("Forward time", StringComparison.Ordinal) && !l.StartsWith("Max error", StringComparison.Ordinal)
                && !l.StartsWith("ShardGen.Mpi", StringComparison.Ordinal) && !l.StartsWith("Generated source", StringComparison.Ordinal))
            .ToArray();
        var expected = Report(inProcess);
        Assert.Contains(expected, l => l.Contains("AllReduce over world (4 devices)"));
        Assert.Contains(expected, l => l.Contains("bytes per device: measured 393,216, planned 393,216"));
        Assert.Equal(expected, Report(run.Output));
        Assert.Single(run.Output.Split('\n'), l => l.StartsWith("Max error against the double-precision reference", StringComparison.Ordinal));
        Assert.Contains("on 4 MPI ranks", run.Output);
    }
}
