using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace ShardGen.Tests.Reference;

/// <summary>
/// Runs tests/reference/hf_reference.py (Hugging Face conventions written in PyTorch, its own safetensors parser) with
/// Debian's /usr/bin/python3: random checkpoints in Hugging Face layout, their tensors as .npy, reference logits and
/// greedy generations. Tests that need it are <see cref="TorchFactAttribute"/>s, skipped with the reason where python3
/// or torch is missing.
/// </summary>
internal static class TorchReference
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Why the reference cannot run here, or null when it can.</summary>
    public static string? MissingReason => Missing.Value;

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python)) return $"needs the PyTorch reference: {Python} is missing (Debian: apt-get install python3-torch python3-numpy)";
        var probe = Start(["-c", "import torch, numpy"], 120);
        return probe.ExitCode == 0 ? null
            : $"needs the PyTorch reference: {Python} cannot import torch and numpy (Debian: apt-get install python3-torch python3-numpy): {probe.Error.Trim()}";
    });

    /// <summary>The script, found from the test assembly's folder up to the repository root.</summary>
    public static string Script { get; } = FindScript();

    /// <summary>Runs the script with <paramref name="arguments"/>; returns its standard output, throws with its errors on failure.</summary>
    public static string Run(params string[] arguments)
    {
        var result = Start([Script, .. arguments], 600);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"hf_reference.py {string.Join(' ', arguments)} exited with {result.ExitCode}:{Environment.NewLine}{result.Error}");
        return result.Output;
    }

    /// <summary>`make DIR …`: a random checkpoint in Hugging Face layout.</summary>
    public static string Make(string directory, params string[] options)
    {
        Run(["make", directory, .. options]);
        return directory;
    }

    /// <summary>Float64 reference logits [tokens, vocab] of packed sequences.</summary>
    public static double[,] Logits(string directory, int[] ids, int[]? lengths = null)
    {
        string output = Path.Combine(directory, $"logits-{Guid.NewGuid():N}.npy");
        Run(["logits", directory, "--ids", string.Join(',', ids), .. lengths is null ? Array.Empty<string>() : ["--lengths", string.Join(',', lengths)], "--out", output]);
        try { return Npy.ReadMatrix(output); }
        finally { File.Delete(output); }
    }

    /// <summary>The ids greedy decoding appends to <paramref name="prompt"/>, recomputing the whole sequence each step.</summary>
    public static int[] Generate(string directory, int[] prompt, int newTokens) =>
        Run("generate", directory, "--ids", string.Join(',', prompt), "--new", newTokens.ToString())
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();

    /// <summary>Every tensor of a checkpoint folder or file, as python read it, written to <paramref name="output"/>/NAME.npy.</summary>
    public static string Dump(string checkpoint, string output)
    {
        Run("dump", checkpoint, output);
        return output;
    }

    internal static (int ExitCode, string Output, string Error) Start(string[] arguments, int timeoutSeconds)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) info.ArgumentList.Add(a);
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            return (-1, output.Result, $"timed out after {timeoutSeconds} s{Environment.NewLine}{error.Result}");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "reference", "hf_reference.py");
            if (File.Exists(candidate)) return candidate;
        }
        return Path.Combine("tests", "reference", "hf_reference.py");
    }
}

/// <summary>A fact skipped, with the reason, where /usr/bin/python3 or torch is missing (CI installs them).</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (TorchReference.MissingReason is { } reason) Skip = reason;
    }
}

/// <summary>A theory skipped, with the reason, where /usr/bin/python3 or torch is missing.</summary>
public sealed class TorchTheoryAttribute : TheoryAttribute
{
    public TorchTheoryAttribute()
    {
        if (TorchReference.MissingReason is { } reason) Skip = reason;
    }
}
