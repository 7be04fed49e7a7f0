using System;
using System.Globalization;
using System.IO;

namespace ShardGen.Samples;

/// <summary>
/// samples/Train's flags, exactly issue 14's: [--checkpoint DIR] [--devices P] [--data-parallel D] [--data FILE.npy]
/// [--batch B] [--seq L] [--steps S] [--lr X] [--optimizer sgd|adamw] [--save DIR] [--loss-out FILE.csv]
/// [--backend …] [--mpi]. <see cref="Parse"/> gives the options or one line saying what is wrong and the fix; checks
/// that need the model or the data (ids ≥ vocab, N &lt; L + 1) come later, from TokenData.
/// </summary>
public sealed record TrainOptions
{
    public string? Checkpoint { get; init; }
    public int Devices { get; init; } = 1;
    public int DataParallel { get; init; } = 1;
    public string? Data { get; init; }
    public int Batch { get; init; } = 4;
    public int Sequence { get; init; } = 64;
    public int Steps { get; init; } = 20;
    public double LearningRate { get; init; } = 1e-3;
    public string Optimizer { get; init; } = "adamw";
    public string? Save { get; init; }
    public string? LossOut { get; init; }

    /// <summary>The --backend value as written (samples/Shared/SampleBackend checks it), null when absent.</summary>
    public string? Backend { get; init; }

    public bool Mpi { get; init; }

    /// <summary>The options of <paramref name="args"/>, or null and <paramref name="error"/> = one line for stderr.</summary>
    public static TrainOptions? Parse(string[] args, out string? error)
    {
        var o = new TrainOptions();
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string flag = args[i];
            if (flag == "--mpi") { o = o with { Mpi = true }; continue; }
            if (!IsValued(flag)) return Fail(out error, $"unknown option '{flag}': use --checkpoint, --devices, --data-parallel, --data, --batch, --seq, --steps, --lr, --optimizer, --save, --loss-out, --backend or --mpi.");
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)) return Fail(out error, $"{flag} needs a value.");
            string value = args[++i];
            switch (flag)
            {
                case "--checkpoint": o = o with { Checkpoint = value }; break;
                case "--data": o = o with { Data = value }; break;
                case "--save": o = o with { Save = value }; break;
                case "--loss-out": o = o with { LossOut = value }; break;
                case "--backend": o = o with { Backend = value }; break;
                case "--optimizer":
                    if (value is not ("sgd" or "adamw")) return Fail(out error, $"--optimizer '{value}' is not an optimizer: use sgd or adamw.");
                    o = o with { Optimizer = value };
                    break;
                case "--lr":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr) || !(lr > 0) || !double.IsFinite(lr))
                        return Fail(out error, $"--lr {value} must be a positive, finite number (for example 1e-3).");
                    o = o with { LearningRate = lr };
                    break;
                default:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1)
                        return Fail(out error, $"{flag} {value} must be a positive whole number.");
                    o = flag switch
                    {
                        "--devices" => o with { Devices = n },
                        "--data-parallel" => o with { DataParallel = n },
                        "--batch" => o with { Batch = n },
                        "--seq" => o with { Sequence = n },
                        _ => o with { Steps = n },
                    };
                    break;
            }
        }
        if (o.Batch % o.DataParallel != 0)
            return Fail(out error, $"--batch {o.Batch} is not divisible by --data-parallel {o.DataParallel}: each replica takes the windows b with b mod {o.DataParallel} = its index.");
        if (o.Save is not null && WhyNotWritable(o.Save) is { } reason)
            return Fail(out error, $"--save {o.Save} is not writable: {reason}");
        return o;
    }

    private static bool IsValued(string flag) => flag is "--checkpoint" or "--devices" or "--data-parallel" or "--data" or "--batch" or "--seq"
        or "--steps" or "--lr" or "--optimizer" or "--save" or "--loss-out" or "--backend";

    // Creates the folder if needed and writes a probe file, so a run never trains for an hour and then fails to save.
    private static string? WhyNotWritable(string folder)
    {
        try
        {
            if (File.Exists(folder)) return "it is a file, not a folder.";
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, $".write-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return e.Message.Split('\n')[0].Trim();
        }
    }

    private static TrainOptions? Fail(out string? error, string message)
    {
        error = message;
        return null;
    }
}
