using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace ShardGen.Benchmarks;

/// <summary>
/// Runs one of benchmarks/*.py under Debian's /usr/bin/python3 (torch 1.13, one thread) and parses the JSON object it
/// prints last: the PyTorch side of a suite, measured in the same run.
/// </summary>
internal static class TorchScript
{
    /// <summary>The script's last output line as JSON; null (with the reason printed) where python, the script or torch fails.</summary>
    public static JsonDocument? Run(string suite, string scriptName, IEnumerable<string> arguments)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ShardGen.sln"))) dir = dir.Parent;
        string script = Path.Combine(dir?.FullName ?? "", "benchmarks", scriptName);
        if (!File.Exists("/usr/bin/python3") || !File.Exists(script)) return null;
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(psi)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Console.WriteLine($"{suite}: {scriptName} failed ({error.Result.Trim().Split('\n').Last()})");
            return null;
        }
        return JsonDocument.Parse(output.Trim().Split('\n').Last());
    }
}
