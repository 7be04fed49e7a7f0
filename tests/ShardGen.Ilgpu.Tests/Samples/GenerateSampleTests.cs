using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using ShardGen.Checkpoints;
using ShardGen.TestSupport;

namespace ShardGen.Ilgpu.Tests.Samples;

/// <summary>
/// samples/Generate run as a user runs it: the flags of issue 13, the same greedy and seeded ids on every device count,
/// the prompt pass's logits (.npy) and greedy ids against the PyTorch reference, --prompt through tokenizer.json, and
/// every bad input as one line on stderr with exit code 2.
/// </summary>
public sealed class GenerateSampleTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "shardgen-gen-test-" + Guid.NewGuid().ToString("N"));

    public GenerateSampleTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void NoFlags_WritesARandomCheckpoint_PrintsIdsAndTimes_OnTwoDevices()
    {
        var before = TemporaryCheckpoints();
        var run = Run().ShouldSucceed();
        Assert.Equal("", run.Error);
        Assert.Subset(before, TemporaryCheckpoints()); // the random checkpoint is deleted at the end
        int[] ids = Generated(run);
        Assert.Equal(8 + 16, ids.Length); // the default prompt (8 ids) and --max-new-tokens' default (16)
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8], ids[..8]);
        Assert.All(ids, id => Assert.InRange(id, 0, 999));
        Assert.Contains("loaded on 2 CPU devices", run.Output);
        Assert.Matches(@"(?m)^prefill: \d+\.\d\d ms \(8 tokens\)$", run.Output);
        Assert.Matches(@"(?m)^decode: \d+\.\d\d ms/token \(15 steps\)$", run.Output);
        Assert.Matches(@"(?m)^tokens/s: \d+\.\d$", run.Output);
    }

    [Fact]
    public void Greedy_IsTheSameOnEveryDeviceCount_VocabularySplitUnevenly()
    {
        // 1000 ids over 1, 2, 4 and 8 devices: even; 8 heads over 8 devices with 2 KV heads: replicated KV heads.
        var runs = new[] { 1, 2, 4, 8 }.Select(p => Generated(Run("--devices", $"{p}", "--prompt-ids", "5,17,999,0,42", "--max-new-tokens", "12").ShouldSucceed())).ToList();
        Assert.All(runs, ids => Assert.Equal(runs[0], ids));
    }

    [Fact]
    public void IlgpuEmulator_GivesTheCpuBackendsIds()
    {
        // The emulator takes seconds per token: a short prompt and 3 new tokens.
        string[] flags = ["--prompt-ids", "1,2,3", "--max-new-tokens", "3", "--devices", "2"];
        int[] cpu = Generated(Run(flags).ShouldSucceed());
        var emulated = Run([.. flags, "--backend", "ilgpu-cpu"]).ShouldSucceed();
        Assert.Equal(cpu, Generated(emulated));
        Assert.Contains("loaded on 2 ilgpu-cpu devices", emulated.Output);
    }

    [Fact]
    public void SeededSampling_IsTheSameOnEveryRunAndDeviceCount_AndDependsOnTheSeed()
    {
        string[] flags = ["--prompt-ids", "3,1,4,1,5", "--max-new-tokens", "20", "--temperature", "0.9", "--top-k", "40", "--top-p", "0.95"];
        int[] a = Generated(Run([.. flags, "--seed", "7", "--devices", "1"]).ShouldSucceed());
        int[] b = Generated(Run([.. flags, "--seed", "7", "--devices", "2"]).ShouldSucceed());
        int[] c = Generated(Run([.. flags, "--seed", "8", "--devices", "2"]).ShouldSucceed());
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [TorchFact]
    public void LogitsOut_AndGreedyIds_MatchThePyTorchReference_OnUnevenVocabShards()
    {
        // A vocabulary of 1003 divides no device count here; 4 heads, 2 KV heads (replicated on 4 devices).
        string checkpoint = Path.Combine(_directory, "ckpt");
        RandomCheckpoint.Write(checkpoint, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 1003, Hidden: 64, Heads: 4, KvHeads: 2, FfnHidden: 96, Layers: 2) { Seed = 5 });
        const string prompt = "11,500,1002,7,0,64";
        foreach (int devices in new[] { 1, 2, 4 })
        {
            string npy = Path.Combine(_directory, $"logits{devices}.npy");
            var run = Run("--checkpoint", checkpoint, "--devices", $"{devices}", "--prompt-ids", prompt, "--max-new-tokens", "8", "--logits-out", npy).ShouldSucceed();
            Assert.Contains($"logits: {npy} (float32 [6, 1003])", run.Output);

            string reference = Path.Combine(_directory, $"reference{devices}.npy");
            TorchReference.Run("logits", checkpoint, "--ids", prompt, "--out", reference);
            var (ours, shape) = Npy.Read(npy);
            var (theirs, theirShape) = Npy.Read(reference);
            Assert.Equal([6, 1003], shape);
            Assert.Equal(shape, theirShape);
            double max = theirs.Max(Math.Abs), error = ours.Zip(theirs, (x, y) => Math.Abs(x - y)).Max();
            Assert.True(error <= 1e-4 * max, $"{devices} devices: max |ours − torch| = {error:E2}, max |torch| = {max:E2}");

            var greedy = TorchReference.Run("generate", checkpoint, "--ids", prompt, "--new", "8").Trim().Split(' ').Select(int.Parse);
            Assert.Equal(greedy, Generated(run)[6..]); // decode with the cache = the reference's full recompute
        }
    }

    [Fact]
    public void KeepBf16_GivesTheWidenedLoadsIdsAndLogits_AndIsRefusedOnIlgpu()
    {
        string checkpoint = Path.Combine(_directory, "bf16");
        RandomCheckpoint.Write(checkpoint, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 1003, Hidden: 64, Heads: 4, KvHeads: 2, FfnHidden: 96, Layers: 2)
            { Seed = Environment.TickCount, DType = SafetensorsDType.BF16 });
        string[] flags = ["--checkpoint", checkpoint, "--devices", "2", "--prompt-ids", "11,500,1002,7,0,64", "--max-new-tokens", "8"];
        string keptNpy = Path.Combine(_directory, "kept.npy"), widenedNpy = Path.Combine(_directory, "widened.npy");
        var kept = Run([.. flags, "--keep-bf16", "--logits-out", keptNpy]).ShouldSucceed();
        var widened = Run([.. flags, "--logits-out", widenedNpy]).ShouldSucceed();
        Assert.Equal(Generated(widened), Generated(kept));
        var (a, _) = Npy.Read(keptNpy);
        var (b, _) = Npy.Read(widenedNpy);
        double max = b.Max(Math.Abs), error = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(error <= 1e-5 * max, $"max |kept − widened| = {error:E2}, max = {max:E2}");

        var refused = Run([.. flags, "--keep-bf16", "--backend", "ilgpu-cpu"]);
        SampleBackendTests.AssertOneLineError(refused, "Cannot load 'Llama' with keepBFloat16 on ");
    }

    [Fact]
    public void Prompt_IsEncodedWithTheCheckpointsTokenizer_AndTheTextPrinted()
    {
        string checkpoint = Path.Combine(_directory, "ckpt");
        RandomCheckpoint.Write(checkpoint, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 40, Hidden: 32, Heads: 2, KvHeads: 2, FfnHidden: 48, Layers: 1));
        // A byte-level BPE whose 40 tokens cover the vocabulary: "hello world" → hello, Ġwor, l, d (see CheckpointTokenizerTests).
        string[] tokens = ["h", "e", "l", "o", "Ġ", "w", "r", "d", "he", "ll", "hell", "hello", "Ġw", "or", "Ġwor",
            .. Enumerable.Range(0, 25).Select(i => ((char)('A' + i)).ToString())];
        File.WriteAllText(Path.Combine(checkpoint, "tokenizer.json"), JsonSerializer.Serialize(new
        {
            pre_tokenizer = new { type = "ByteLevel" },
            decoder = new { type = "ByteLevel" },
            model = new
            {
                type = "BPE",
                vocab = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i),
                merges = new[] { "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or" },
            },
        }));
        var run = Run("--checkpoint", checkpoint, "--prompt", "hello world", "--max-new-tokens", "4", "--devices", "2").ShouldSucceed();
        Assert.Equal([11, 14, 2, 7], Generated(run)[..4]);
        Assert.Contains("tokenizer: GPT-2 byte-level BPE", run.Output);
        Assert.Matches("(?m)^text: hello world", run.Output);
    }

    /// <summary>A LLaMA-style tokenizer.json with byte fallback: an emoji and a CJK character outside the vocabulary go in as their UTF-8 bytes and come back as text.</summary>
    [Fact]
    public void Prompt_OutsideASentencePieceVocabulary_IsEncodedAsBytes_AndPrintedBack()
    {
        string checkpoint = Path.Combine(_directory, "ckpt");
        RandomCheckpoint.Write(checkpoint, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 300, Hidden: 32, Heads: 2, KvHeads: 2, FfnHidden: 48, Layers: 1));
        string[] tokens = ["<unk>", "<s>", "</s>", .. Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"), "▁", "a", "▁a"];
        File.WriteAllText(Path.Combine(checkpoint, "tokenizer.json"), JsonSerializer.Serialize(new
        {
            added_tokens = new[] { "<unk>", "<s>", "</s>" }.Select((t, i) => new { id = i, content = t, normalized = false, special = true }).ToArray(),
            normalizer = new
            {
                type = "Sequence",
                normalizers = new object[] { new { type = "Prepend", prepend = "▁" }, new { type = "Replace", pattern = new { String = " " }, content = "▁" } },
            },
            post_processor = new
            {
                type = "TemplateProcessing",
                single = new object[] { new { SpecialToken = new { id = "<s>", type_id = 0 } }, new { Sequence = new { id = "A", type_id = 0 } } },
            },
            decoder = new
            {
                type = "Sequence",
                decoders = new object[]
                {
                    new { type = "Replace", pattern = new { String = "▁" }, content = " " }, new { type = "ByteFallback" }, new { type = "Fuse" },
                    new { type = "Strip", content = " ", start = 1, stop = 0 },
                },
            },
            model = new
            {
                type = "BPE", unk_token = "<unk>", fuse_unk = true, byte_fallback = true,
                vocab = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i),
                merges = new[] { "▁ a" },
            },
        }));
        var run = Run("--checkpoint", checkpoint, "--prompt", "a😀 中 a", "--max-new-tokens", "3", "--devices", "2").ShouldSucceed();
        // <s>, ▁a, 😀 = F0 9F 98 80, ▁, 中 = E4 B8 AD, ▁a (byte <0xXX> is id 3 + XX).
        Assert.Equal([1, 261, 3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80, 259, 3 + 0xE4, 3 + 0xB8, 3 + 0xAD, 261], Generated(run)[..11]);
        Assert.Contains("tokenizer: SentencePiece BPE", run.Output);
        Assert.Matches("(?m)^text: a😀 中 a", run.Output);
    }

    [Theory]
    [InlineData(new[] { "--tokens", "8" }, "Unknown option '--tokens': use --checkpoint DIR")]
    [InlineData(new[] { "--devices" }, "--devices needs a value.")]
    [InlineData(new[] { "--devices", "two" }, "--devices 'two' is not an integer ≥ 1.")]
    [InlineData(new[] { "--prompt-ids", "1,x,3" }, "--prompt-ids '1,x,3': 'x' is not a token id")]
    [InlineData(new[] { "--prompt-ids", "1", "--prompt", "hi" }, "Give either --prompt-ids or --prompt, not both.")]
    [InlineData(new[] { "--top-p", "1.5" }, "--top-p is 1.5: use a probability in (0, 1]")]
    [InlineData(new[] { "--temperature", "-1" }, "--temperature is -1: use 0 (greedy)")]
    [InlineData(new[] { "--prompt", "hello" }, "--prompt needs a tokenizer: ")]
    [InlineData(new[] { "--prompt-ids", "1,1000" }, "Prompt token 1 is id 1000, outside the vocabulary [0, 1000).")]
    [InlineData(new[] { "--checkpoint", "/nonexistent/shardgen" }, "/nonexistent/shardgen/config.json: no such file")]
    public void BadInput_IsOneLineOnStderr_ExitCode2(string[] arguments, string expectedStart)
    {
        var run = Run(arguments);
        SampleBackendTests.AssertOneLineError(run, expectedStart);
    }

    [Fact]
    public void DeviceCountTheHeadsCannotSplitOver_NamesTheHeadsAndTheCountsThatWork()
    {
        var run = Run("--devices", "3");
        Assert.True(run.ExitCode == 2, run.Describe());
        string line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("8", line);      // the query heads
        Assert.Contains("heads", line);
        Assert.Contains("3", line);
        Assert.Matches(@"1, 2, 4(,| or| and) 8", line); // the device counts that work
    }

    [Fact]
    public void DamagedCheckpoint_IsOneLineNamingTheFile()
    {
        string checkpoint = Path.Combine(_directory, "ckpt");
        RandomCheckpoint.Write(checkpoint, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 50, Hidden: 32, Heads: 2, KvHeads: 2, FfnHidden: 48, Layers: 1));
        string file = Path.Combine(checkpoint, "model.safetensors");
        using (var stream = new FileStream(file, FileMode.Open)) stream.SetLength(stream.Length - 100); // truncated
        var run = Run("--checkpoint", checkpoint);
        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Contains("model.safetensors", Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    private static System.Collections.Generic.HashSet<string> TemporaryCheckpoints() =>
        Directory.GetDirectories(Path.GetTempPath(), "shardgen-generate-*").ToHashSet();

    private static int[] Generated(DotnetResult run)
    {
        string line = run.Output.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("generated: ", StringComparison.Ordinal));
        return line["generated: ".Length..].Split(' ').Select(int.Parse).ToArray();
    }

    private static DotnetResult Run(params string[] arguments) => SampleBackendTests.RunSample("Generate", arguments);
}

/// <summary>tests/reference/hf_reference.py under /usr/bin/python3 (torch + numpy).</summary>
internal static class TorchReference
{
    public static string Script
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "ShardGen.sln"))) dir = dir.Parent;
            return Path.Combine(dir?.FullName ?? "", "tests", "reference", "hf_reference.py");
        }
    }

    public static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists("/usr/bin/python3")) return "/usr/bin/python3 is missing: apt-get install python3-torch python3-numpy";
        if (!File.Exists(Script)) return $"{Script} is missing";
        using var process = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import torch, numpy"]) { RedirectStandardError = true })!;
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? null : "/usr/bin/python3 cannot import torch and numpy: apt-get install python3-torch python3-numpy";
    });

    public static string Run(params string[] arguments)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Script);
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"hf_reference.py {string.Join(' ', arguments)} failed:\n{error.Result}");
        return output;
    }
}

/// <summary>A fact skipped, with the reason, where the PyTorch reference cannot run (CI installs python3-torch).</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (TorchReference.Missing.Value is { } reason) Skip = reason;
    }
}

/// <summary>Reads a little-endian float32 or float64 .npy matrix as doubles (the format's header, then the data).</summary>
internal static class Npy
{
    public static (double[] Values, int[] Shape) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int major = bytes[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int start = (major == 1 ? 10 : 12) + headerLength;
        string header = System.Text.Encoding.ASCII.GetString(bytes, major == 1 ? 10 : 12, headerLength);
        var match = System.Text.RegularExpressions.Regex.Match(header, @"'shape': \(([^)]*)\)");
        int[] shape = match.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        bool f8 = header.Contains("'<f8'");
        Assert.True(f8 || header.Contains("'<f4'"), $"{path}: unexpected dtype in {header}");
        Assert.Contains("'fortran_order': False", header);
        int count = shape.Aggregate(1, (a, b) => a * b);
        var values = new double[count];
        for (int i = 0; i < count; i++)
            values[i] = f8 ? BitConverter.ToDouble(bytes, start + 8 * i) : BitConverter.ToSingle(bytes, start + 4 * i);
        return (values, shape);
    }
}
