using Xunit;
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace ShardGen.TestSupport;

/// <summary>
/// The outcome of one <c>dotnet</c> command: its exit code, its standard output and error interleaved
/// (<paramref name="Output"/>) and its standard error alone (<paramref name="Error"/>).
/// </summary>
public sealed record DotnetResult(string Command, int ExitCode, bool TimedOut, string Output, string Error, TimeSpan Elapsed)
{
    /// <summary>The command, its exit code and everything it printed: the message of any failed assertion about it.</summary>
    public string Describe() =>
        $"`{Command}` {(TimedOut ? "timed out" : $"exited with {ExitCode}")} after {Elapsed.TotalSeconds:F0} s. Output:\n{Output}";

    /// <summary>Throws with <see cref="Describe"/> unless the command exited with 0.</summary>
    public DotnetResult ShouldSucceed()
    {
        Assert.True(ExitCode == 0 && !TimedOut, Describe());
        return this;
    }
}

/// <summary>
/// Runs the dotnet CLI the way a developer would in a terminal, with a timeout. Nothing outlives the command:
/// MSBuild node reuse and the compiler server are off, so no child process keeps the output pipes open.
/// </summary>
public static class DotnetProcess
{
    /// <summary>The dotnet running these tests (DOTNET_HOST_PATH), else dotnet on PATH.</summary>
    private static string Dotnet { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    public static DotnetResult Run(string workingDirectory, IReadOnlyList<string> arguments,
                                   IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 300)
    {
        var psi = new ProcessStartInfo(Dotnet)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        // The test host's own MSBuild settings would point the child build at this build's SDK state: drop them.
        foreach (var name in psi.Environment.Keys.ToList())
            if (name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                psi.Environment.Remove(name);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["UseSharedCompilation"] = "false";
        if (environment != null)
            foreach (var (name, value) in environment) psi.Environment[name] = value;

        string command = "dotnet " + string.Join(' ', arguments);
        var output = new StringBuilder();
        var error = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (output) { output.AppendLine(e.Data); error.AppendLine(e.Data); }
        };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool finished = process.WaitForExit(timeoutSeconds * 1000);
        if (finished)
            process.WaitForExit(); // only this overload waits for the output handlers to drain
        else
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        lock (output) return new DotnetResult(command, finished ? process.ExitCode : -1, !finished, output.ToString(), error.ToString(), clock.Elapsed);
    }
}
