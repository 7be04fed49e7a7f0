using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Generate;
using ShardGen;
using ShardGen.Checkpoints;
using ShardGen.Generation;
using ShardGen.Mpi;
using ShardGen.Samples;

// Generates tokens with a LLaMA-family checkpoint sharded over devices, with a KV cache.
// Usage: dotnet run --project samples/Generate -c Release -- [--checkpoint DIR] [--devices N] [--backend cpu|ilgpu-cpu|cuda]
//        [--prompt-ids 1,2,3 | --prompt "text"] [--max-new-tokens N] [--temperature T --top-k K --top-p P --seed S]
//        [--logits-out FILE.npy] [--mpi]
// Without --checkpoint it writes a small random LLaMA-family checkpoint to a temporary folder and uses it.
// --prompt needs the checkpoint's tokenizer.json; --logits-out writes the prompt pass's logits [prompt tokens, vocab].
// On MPI, one CPU device per rank, each reading only its own slices of the checkpoint:
//   mpirun -np 2 dotnet samples/Generate/bin/Release/net10.0/Generate.dll --mpi [--checkpoint DIR]
// Bad input (an unknown flag, an unreadable checkpoint, a device count the model cannot split over, an id outside
// the vocabulary) is one line on stderr and exit code 2.
const int BadInput = 2;
SampleArguments arguments;
try { arguments = SampleArguments.Parse(args); }
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return BadInput;
}
var backend = SampleBackend.Parse(args, arguments.Mpi);
if (backend is null) return SampleBackend.Unavailable;
return arguments.Mpi ? MpiRuntime.Run(() => Run(arguments, backend)) : Run(arguments, backend);

static int Run(SampleArguments a, SampleBackend backend)
{
    using DeviceMesh? mesh = a.Mpi ? MpiDeviceMesh.Create() : backend.TryCreateMesh(a.Devices);
    if (mesh is null) return SampleBackend.Unavailable;
    var mpiMesh = mesh as MpiDeviceMesh;
    if (mpiMesh is { IsRoot: false })
    {
        // Rank 0 prints; every rank checks the same input, so each fails alike.
        Console.SetOut(TextWriter.Null);
        Console.SetError(TextWriter.Null);
    }
    PeakMemory.StartSampling();
    string? temporary = null;
    try
    {
        string directory = a.Checkpoint ?? (temporary = WriteRandomCheckpoint());
        var config = CheckpointConfig.Load(Path.Combine(directory, Checkpoint.ConfigFile));
        var tokenizer = CheckpointTokenizer.Load(directory);
        int[] prompt = a.PromptIds ?? (a.Prompt is null ? SampleArguments.DefaultPromptIds
            : tokenizer?.Encode(a.Prompt) ?? throw new ArgumentException($"--prompt needs a tokenizer: {directory} has no tokenizer.json (give --prompt-ids instead)."));

        var clock = Stopwatch.StartNew();
        using var model = Llama.Load(mesh, directory, keepBFloat16: a.KeepBFloat16);
        double loadMs = clock.Elapsed.TotalMilliseconds;
        TextGenerator.CheckPrompt(prompt, model.Vocab);

        string where = mpiMesh != null ? $"{mesh.Size} MPI ranks (one CPU device each)" : $"{mesh.Size} {(backend.Name == "cpu" ? "CPU" : backend.Name)} devices";
        Console.WriteLine($"checkpoint: {(temporary != null ? "random LLaMA-family weights in " : "")}{directory} ({config.ModelType}: vocab {config.Vocab}, " +
                          $"hidden {config.Hidden}, {config.Layers} layers, {config.Heads} heads, {config.KvHeads} KV heads)");
        Console.WriteLine($"loaded on {where} in {loadMs:F0} ms{(tokenizer != null ? $"; tokenizer: {tokenizer.Kind}" : "; no tokenizer.json: ids only")}");

        var result = TextGenerator.Generate(model, prompt, a.Generation);
        Console.WriteLine("generated: " + string.Join(' ', result.AllIds));
        if (tokenizer != null) Console.WriteLine("text: " + tokenizer.Decode(result.AllIds));
        Console.WriteLine($"prefill: {result.PrefillMilliseconds:F2} ms ({prompt.Length} tokens)");
        Console.WriteLine(result.DecodeSteps > 0
            ? $"decode: {result.DecodeMillisecondsPerToken:F2} ms/token ({result.DecodeSteps} steps)"
            : "decode: no decode step (the first new token ended generation)");
        Console.WriteLine(result.DecodeSteps > 0 ? $"tokens/s: {result.TokensPerSecond:F1}" : "tokens/s: n/a");

        if (a.LogitsOut != null && mpiMesh is null or { IsRoot: true })
        {
            NpyWriter.Write(a.LogitsOut, result.PromptLogits);
            Console.WriteLine($"logits: {a.LogitsOut} (float32 [{prompt.Length}, {model.Vocab}])");
        }
        ReportPeakMemory(mpiMesh, directory, a.RankReports);
        return 0;
    }
    catch (Exception e) when (e is ArgumentException or ShardingException or IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine(string.Join(" ", e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        return BadInput;
    }
    finally
    {
        if (temporary != null) try { Directory.Delete(temporary, recursive: true); } catch (IOException) { }
    }
}

// A small LLaMA-family model: 8 heads and 2 KV heads split over 1, 2, 4 or 8 devices (KV heads replicated on 4 and 8);
// FFN 768 also divides by 3, so --devices 3 is refused for the heads. Under MPI each rank writes the same file (same
// seed) to its own folder.
static string WriteRandomCheckpoint()
{
    string directory = Path.Combine(Path.GetTempPath(), $"shardgen-generate-{Environment.ProcessId}-{Guid.NewGuid():N}");
    return RandomCheckpoint.Write(directory, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 1000, Hidden: 256, Heads: 8, KvHeads: 2, FfnHidden: 768, Layers: 2)
    {
        Positions = 1024,
        Seed = 42,
    });
}

// Peak memory: per rank under MPI (each holds only its own slices), next to the checkpoint's size. VmHWM also counts
// the mapped checkpoint pages the rank touched (shared with the page cache); RssAnon is the rank's private memory.
static void ReportPeakMemory(MpiDeviceMesh? mpiMesh, string directory, string? rankReports)
{
    long[] mine = [PeakMemory.PeakBytes(), PeakMemory.PeakPrivateBytes()];
    long files = Directory.GetFiles(directory, "*.safetensors").Sum(f => new FileInfo(f).Length);
    static string Mb(long bytes) => (bytes / 1e6).ToString("F1", CultureInfo.InvariantCulture) + " MB";
    if (mpiMesh is null)
    {
        Console.WriteLine($"peak RSS (VmHWM): {Mb(mine[0])}; peak private (RssAnon): {Mb(mine[1])}; checkpoint files: {Mb(files)}");
        return;
    }
    long[] all = mpiMesh.Communicator.AllGather(mine);
    if (rankReports != null)
        File.WriteAllText(Path.Combine(rankReports, $"rank{mpiMesh.LocalRank}.txt"), $"peak RSS rank {mpiMesh.LocalRank}: {mine[0]} {mine[1]}\n");
    int ranks = all.Length / 2;
    Console.WriteLine($"peak RSS per rank (VmHWM): {string.Join(", ", Enumerable.Range(0, ranks).Select(r => $"rank {r} {Mb(all[2 * r])}"))}; " +
                      $"peak private (RssAnon): {string.Join(", ", Enumerable.Range(0, ranks).Select(r => $"rank {r} {Mb(all[2 * r + 1])}"))}; checkpoint files: {Mb(files)}");
}
