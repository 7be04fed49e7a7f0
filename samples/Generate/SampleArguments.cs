using System;
using System.Globalization;
using System.Linq;

namespace ShardGen.Samples;

/// <summary>samples/Generate's command line, parsed and checked; a bad one is an <see cref="ArgumentException"/> of one line.</summary>
internal sealed record SampleArguments
{
    public string? Checkpoint { get; private init; }
    public int Devices { get; private init; } = 2;
    public int[]? PromptIds { get; private init; }
    public string? Prompt { get; private init; }
    public int MaxNewTokens { get; private init; } = 16;
    public double Temperature { get; private init; }
    public int TopK { get; private init; }
    public double TopP { get; private init; } = 1;
    public ulong Seed { get; private init; }
    public string? LogitsOut { get; private init; }
    public bool Mpi { get; private init; }
    /// <summary>--keep-bf16: a BF16 checkpoint's matrices stay BF16 on the devices (half the bytes per decoded token; CPU devices and MPI ranks).</summary>
    public bool KeepBFloat16 { get; private init; }
    /// <summary>--out=DIR (the MPI test harness's): each rank also writes its own report line to DIR/rank&lt;r&gt;.txt.</summary>
    public string? RankReports { get; private init; }

    /// <summary>The prompt when the user gives none.</summary>
    public static readonly int[] DefaultPromptIds = [1, 2, 3, 4, 5, 6, 7, 8];

    public static SampleArguments Parse(string[] args)
    {
        var a = new SampleArguments();
        for (int i = 0; i < args.Length; i++)
        {
            string flag = args[i];
            string Value()
            {
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new ArgumentException($"{flag} needs a value.");
                return args[++i];
            }
            switch (flag)
            {
                case "--checkpoint": a = a with { Checkpoint = Value() }; break;
                case "--devices": a = a with { Devices = Int(flag, Value(), min: 1) }; break;
                case "--backend": Value(); break; // SampleBackend reads it
                case "--prompt-ids": a = a with { PromptIds = Ids(Value()) }; break;
                case "--prompt": a = a with { Prompt = Value() }; break;
                case "--max-new-tokens": a = a with { MaxNewTokens = Int(flag, Value(), min: 1) }; break;
                case "--temperature": a = a with { Temperature = Real(flag, Value()) }; break;
                case "--top-k": a = a with { TopK = Int(flag, Value(), min: 0) }; break;
                case "--top-p": a = a with { TopP = Real(flag, Value()) }; break;
                case "--seed":
                    string seed = Value();
                    a = a with { Seed = ulong.TryParse(seed, NumberStyles.None, CultureInfo.InvariantCulture, out ulong s) ? s : throw new ArgumentException($"--seed '{seed}' is not a non-negative integer.") };
                    break;
                case "--logits-out": a = a with { LogitsOut = Value() }; break;
                case "--mpi": a = a with { Mpi = true }; break;
                case "--keep-bf16": a = a with { KeepBFloat16 = true }; break;
                default:
                    if (flag.StartsWith("--out=", StringComparison.Ordinal)) { a = a with { RankReports = flag["--out=".Length..] }; break; }
                    throw new ArgumentException($"Unknown option '{flag}': use --checkpoint DIR, --devices N, --backend cpu|ilgpu-cpu|cuda|opencl, " +
                        "--prompt-ids 1,2,3 or --prompt \"text\", --max-new-tokens N, --temperature T, --top-k K, --top-p P, --seed S, --logits-out FILE.npy, --mpi, --keep-bf16.");
            }
        }
        if (a.PromptIds != null && a.Prompt != null)
            throw new ArgumentException("Give either --prompt-ids or --prompt, not both.");
        var generation = new Generation.GenerationOptions { MaxNewTokens = a.MaxNewTokens, Temperature = a.Temperature, TopK = a.TopK, TopP = a.TopP };
        try { generation.Validate(); }
        catch (ArgumentException e) { throw new ArgumentException(Flagged(e.Message)); }
        return a;
    }

    /// <summary>The generation options these flags ask for.</summary>
    public Generation.GenerationOptions Generation => new()
    {
        MaxNewTokens = MaxNewTokens, Temperature = Temperature, TopK = TopK, TopP = TopP, Seed = Seed,
    };

    // The options' own words, in the flags' names.
    private static string Flagged(string message) => message
        .Replace("MaxNewTokens", "--max-new-tokens").Replace("Temperature", "--temperature").Replace("TopK", "--top-k").Replace("TopP", "--top-p");

    private static int Int(string flag, string text, int min) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) && v >= min
            ? v : throw new ArgumentException($"{flag} '{text}' is not an integer ≥ {min}.");

    private static double Real(string flag, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v : throw new ArgumentException($"{flag} '{text}' is not a number.");

    private static int[] Ids(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        return parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int id)
            ? id : throw new ArgumentException($"--prompt-ids '{text}': '{p}' is not a token id (ids are integers ≥ 0, comma-separated).")).ToArray();
    }
}
