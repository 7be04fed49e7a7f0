using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace ShardGen.Mpi.Tests;

/// <summary>Finds mpirun and starts the test host under it.</summary>
public static class MpiJob
{
    /// <summary>mpirun on PATH, or null.</summary>
    public static string? MpiRunPath { get; } = FindOnPath("mpirun");

    public static string SkipReason =>
        "mpirun is not on PATH: the MPI tests need Open MPI (apt-get install openmpi-bin libopenmpi-dev); CI installs it.";

    /// <summary>The dotnet running these tests (DOTNET_HOST_PATH), else dotnet on PATH.</summary>
    private static string DotnetHost { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>The host program, copied next to this assembly by the project reference.</summary>
    public static string HostDll => Path.Combine(AppContext.BaseDirectory, "ShardGen.Mpi.TestHost.dll");

    /// <summary>
    /// Runs <c>mpirun -np <paramref name="ranks"/> dotnet ShardGen.Mpi.TestHost.dll <paramref name="arguments"/></c> with
    /// settings for a container (root, oversubscribed cores, shared-memory transport only). Returns the exit code, the
    /// combined output and each rank's own lines (written to a file per rank, so they never interleave).
    /// </summary>
    public static MpiRun Run(int ranks, IEnumerable<string> arguments, int timeoutSeconds = 90, IReadOnlyDictionary<string, string>? environment = null) =>
        Run(ranks, HostDll, arguments, timeoutSeconds, environment);

    /// <summary>
    /// Runs <paramref name="dll"/> under mpirun (see the other overload); --out=DIR is appended to its arguments, and
    /// <paramref name="environment"/> is set in every rank.
    /// </summary>
    public static MpiRun Run(int ranks, string dll, IEnumerable<string> arguments, int timeoutSeconds = 90, IReadOnlyDictionary<string, string>? environment = null) =>
        Run(ranks, dll, arguments, rankFiles: true, timeoutSeconds, environment);

    /// <summary>
    /// As the other overloads; without <paramref name="rankFiles"/> no --out=DIR is appended (for a program that does
    /// not take it), and the per-rank lines are empty.
    /// </summary>
    public static MpiRun Run(int ranks, string dll, IEnumerable<string> arguments, bool rankFiles, int timeoutSeconds = 90, IReadOnlyDictionary<string, string>? environment = null)
    {
        if (MpiRunPath is null) throw new InvalidOperationException(SkipReason);
        var outDir = Path.Combine(Path.GetTempPath(), "shardgen-mpi-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(outDir);
        var psi = new ProcessStartInfo(MpiRunPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in new[]
        {
            "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(),
            "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none",
            "--mca", "mpi_yield_when_idle", "1",
            "-x", "DOTNET_CLI_TELEMETRY_OPTOUT=1", "-x", "DOTNET_NOLOGO=1", "-x", "TERM",
        }) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.ArgumentList.Add("-x");
            psi.ArgumentList.Add($"{name}={value}");
        }
        psi.ArgumentList.Add(DotnetHost);
        psi.ArgumentList.Add(dll);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        if (rankFiles) psi.ArgumentList.Add("--out=" + outDir);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        // A terminal type with a keypad-transmit sequence, as in an interactive shell: the ranks must not send it.
        psi.Environment["TERM"] = "xterm";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool finished = process.WaitForExit(timeoutSeconds * 1000);
        if (!finished) process.Kill(entireProcessTree: true);
        process.WaitForExit(); // waits out a kill and drains the output handlers
        var perRank = new string[ranks][];
        for (int r = 0; r < ranks; r++)
        {
            var file = Path.Combine(outDir, $"rank{r}.txt");
            perRank[r] = File.Exists(file) ? File.ReadAllLines(file) : Array.Empty<string>();
        }
        try { Directory.Delete(outDir, recursive: true); } catch (IOException) { }
        string text;
        lock (output) text = output.ToString();
        return new MpiRun(finished ? process.ExitCode : -1, !finished, text, perRank, clock.Elapsed);
    }

    /// <summary>Runs a .NET program in this process's way (no mpirun): exit code and output.</summary>
    public static (int ExitCode, string Output) RunDotnet(string dll, params string[] arguments)
    {
        var psi = new ProcessStartInfo(DotnetHost) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    /// <summary>samples/MegatronMlp's program, built in the same configuration as these tests.</summary>
    public static string SampleDll => Sample("MegatronMlp");

    /// <summary>samples/<paramref name="name"/>'s program, built in the same configuration as these tests.</summary>
    public static string Sample(string name)
    {
        // …/tests/ShardGen.Mpi.Tests/bin/<Configuration>/net10.0/ → …/samples/<name>/bin/<Configuration>/net10.0/
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = dir.Name, configuration = dir.Parent!.Name;
        var root = dir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        return Path.Combine(root, "samples", name, "bin", configuration, framework, name + ".dll");
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>One mpirun: exit code, whether it was killed for running too long, all output, and each rank's lines.</summary>
public sealed record MpiRun(int ExitCode, bool TimedOut, string Output, string[][] RankLines, TimeSpan Elapsed)
{
    public IEnumerable<string> Lines(string prefix) => RankLines.SelectMany(l => l).Where(l => l.StartsWith(prefix, StringComparison.Ordinal));

    public override string ToString() => $"exit {ExitCode}{(TimedOut ? " (timed out)" : "")} after {Elapsed.TotalSeconds:F1} s\n{Output}";
}

/// <summary>A fact that is skipped, with the reason, where mpirun is not installed (CI installs it, so CI runs them).</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (MpiJob.MpiRunPath is null) Skip = MpiJob.SkipReason;
    }
}
