using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// Runs tests/reference/hf_train.py (hf_reference.py's models under float64 autograd) beside hf_reference.py.
/// Tests that use it are <see cref="TorchFactAttribute"/>s.
/// </summary>
internal static class TrainReference
{
    public static string Script { get; } = Path.Combine(Path.GetDirectoryName(TorchReference.Script)!, "hf_train.py");

    public static string Run(params string[] arguments)
    {
        var result = TorchReference.Start([Script, .. arguments], 600);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"hf_train.py {string.Join(' ', arguments)} exited with {result.ExitCode}:{Environment.NewLine}{result.Error}");
        return result.Output;
    }

    /// <summary>The script's exit code and standard error (for its own input checks).</summary>
    public static (int ExitCode, string Error) Try(params string[] arguments)
    {
        var result = TorchReference.Start([Script, .. arguments], 600);
        return (result.ExitCode, result.Error);
    }

    /// <summary>`windows`: (step, replica, window, start) for every window of steps 0..S-1.</summary>
    public static List<(int Step, int Replica, int Window, int Start)> Windows(int n, int batch, int seq, int steps, int replicas) =>
        Run("windows", "--n", $"{n}", "--batch", $"{batch}", "--seq", $"{seq}", "--steps", $"{steps}", "--data-parallel", $"{replicas}")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ').Select(int.Parse).ToArray())
            .Select(f => (f[0], f[1], f[2], f[3]))
            .ToList();

    /// <summary>Every .npy of a folder as name → data (float64).</summary>
    public static Dictionary<string, double[]> ReadFolder(string folder) =>
        Directory.GetFiles(folder, "*.npy").ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => Npy.Read(f).Data);

    public static string TemporaryFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"shardgen-train-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}
