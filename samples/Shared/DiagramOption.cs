using System;
using System.IO;
using ShardGen;

namespace ShardGen.Samples;

/// <summary>
/// The samples' <c>--diagram FILE.svg</c> option: writes the plan as an SVG picture. The file is written under a
/// temporary name and renamed, so a reader never sees half a drawing; a path that cannot be written is one line on
/// stderr and exit code 2.
/// </summary>
internal static class DiagramOption
{
    /// <summary>The exit code for a <c>--diagram</c> path that cannot be written.</summary>
    public const int Unwritable = 2;

    /// <summary>True when <paramref name="args"/> ask for a diagram; <paramref name="path"/> is null when the option lacks its file.</summary>
    public static bool Requested(string[] args, out string? path)
    {
        int i = Array.IndexOf(args, "--diagram");
        path = i >= 0 && i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[i + 1] : null;
        return i >= 0;
    }

    /// <summary>Writes <paramref name="plan"/>'s SVG to <paramref name="path"/>; false after a one-line error on stderr.</summary>
    public static bool TryWrite(string? path, ModelPlan plan)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            Console.Error.WriteLine("--diagram needs a file name, e.g. --diagram plan.svg");
            return false;
        }
        string? temp = null;
        try
        {
            string full = Path.GetFullPath(path);
            string folder = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"The folder '{folder}' does not exist.");
            temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
            File.WriteAllText(temp, plan.ToSvg());
            File.Move(temp, full, overwrite: true);
            Console.WriteLine($"Plan diagram of {plan.ModelName} written to {path} (open it in a browser).");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            if (temp is not null) try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            Console.Error.WriteLine($"--diagram '{path}' cannot be written: {e.Message} Pick a writable file path.");
            return false;
        }
    }
}
