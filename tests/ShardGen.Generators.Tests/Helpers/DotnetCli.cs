using System;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace ShardGen.Generators.Tests.Helpers;

/// <summary>Runs the <c>dotnet</c> CLI as a user would, for the real-build tests: exit code and all output.</summary>
public static class DotnetCli
{
    /// <summary>The dotnet running these tests (DOTNET_HOST_PATH), else dotnet on PATH.</summary>
    private static string Host { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>
    /// Runs <c>dotnet {arguments}</c> in <paramref name="directory"/>; kills it after <paramref name="timeout"/>.
    /// The test host's MSBuild variables are removed, so the child builds like a fresh command line.
    /// </summary>
    public static (int ExitCode, string Output) Run(string directory, TimeSpan timeout, params string[] arguments)
    {
        var psi = new ProcessStartInfo(Host)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildSDKsPath", "MSBuildLoadMicrosoftTargetsReadOnly", "VSTEST_HOST_DEBUG" })
            psi.Environment.Remove(name);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) return (-1, $"dotnet {string.Join(" ", arguments)} timed out after {timeout}:\n{output}");
        }
        process.WaitForExit(); // flushes the output events
        lock (output) return (process.ExitCode, output.ToString());
    }
}
