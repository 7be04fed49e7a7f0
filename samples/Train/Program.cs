using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ShardGen;
using ShardGen.Checkpoints;
using ShardGen.Mpi;
using ShardGen.Samples;
using ShardGen.Training;
using Train;

// Trains a LLaMA-family model sharded over devices (tensor parallel), optionally on D data-parallel replicas.
// Usage: dotnet run --project samples/Train -c Release -- [--checkpoint DIR] [--devices P] [--data-parallel D]
//        [--data FILE.npy] [--batch B] [--seq L] [--steps S] [--lr X] [--optimizer sgd|adamw] [--save DIR]
//        [--loss-out FILE.csv] [--backend cpu|ilgpu-cpu|cuda|opencl] [--mpi]
// Without --checkpoint: a small random LLaMA-family model (vocabulary 256) in a temporary folder. Without --data: the
// bytes of Data/lighthouse.txt. Step s takes B windows; window b starts at ((s·B + b)·L) mod (N − L); replica r takes
// the windows with b mod D = r. Prints `step <s> loss <value>` per step (17 significant digits), then tokens/s.
// Bad input (a flag, ids outside the vocabulary, too little data, a loss that becomes NaN, a save folder that cannot be
// written) is one line on stderr and exit code 2.
const int BadInput = 2;
var options = TrainOptions.Parse(args, out string? error);
if (options is null)
{
    Console.Error.WriteLine(error);
    return BadInput;
}
var backend = SampleBackend.Parse(args, options.Mpi);
if (backend is null) return SampleBackend.Unavailable;
return options.Mpi ? MpiRuntime.Run(() => Run(options, backend)) : Run(options, backend);

static int Run(TrainOptions o, SampleBackend backend)
{
    var meshes = new List<DeviceMesh>();
    var models = new List<Llama>();
    string? temporary = null;
    try
    {
        // Under MPI this process holds one device of one replica (mpirun -np D×P); in process, D meshes of P devices.
        for (int r = 0; r < (o.Mpi ? 1 : o.DataParallel); r++)
        {
            DeviceMesh? mesh = o.Mpi ? MpiDeviceMesh.CreateReplica(o.DataParallel) : backend.TryCreateMesh(o.Devices);
            if (mesh is null) return SampleBackend.Unavailable;
            meshes.Add(mesh);
        }
        bool quiet = meshes[0] is MpiDeviceMesh { IsRoot: false } or MpiDeviceMesh { ReplicaIndex: > 0 };
        if (quiet)
        {
            // Rank 0 prints; every rank checks the same input, so each fails alike.
            Console.SetOut(TextWriter.Null);
            Console.SetError(TextWriter.Null);
        }

        string directory = o.Checkpoint ?? (temporary = WriteRandomCheckpoint());
        var config = CheckpointConfig.Load(Path.Combine(directory, Checkpoint.ConfigFile));
        var data = o.Data is null ? TokenData.FromText("Data/lighthouse.txt", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "lighthouse.txt")))
            : TokenData.Load(o.Data);
        data.Check(config.Vocab, o.Sequence);   // before any device memory: ids ≥ vocab, N < L + 1
        var batches = new TrainingBatches(data.Count, o.Batch, o.Sequence, o.DataParallel);
        foreach (var mesh in meshes) models.Add(Llama.Load(mesh, directory));
        using Optimizer optimizer = o.Optimizer == "sgd" ? new Sgd(o.LearningRate) : new AdamW(o.LearningRate);
        var trainer = new Trainer(models, optimizer, data, batches);

        string where = o.Mpi ? $"{o.DataParallel} × {meshes[0].Size} MPI ranks (data × tensor parallel)" : $"{o.DataParallel} × {o.Devices} {(backend.Name == "cpu" ? "CPU" : backend.Name)} devices (data × tensor parallel)";
        Console.WriteLine($"model: {(temporary != null ? "random LLaMA-family weights" : directory)} ({config.ModelType}: vocab {config.Vocab}, hidden {config.Hidden}, " +
                          $"{config.Layers} layers, {config.Heads} heads, {config.KvHeads} KV heads) on {where}");
        Console.WriteLine($"data: {data.Source}, {data.Count} tokens; {o.Steps} steps of {o.Batch} × {o.Sequence} tokens; {o.Optimizer}, lr {o.LearningRate.ToString(CultureInfo.InvariantCulture)}");
        var progress = new ProgressBar(o.Steps);
        for (int s = 0; s < o.Steps; s++)
        {
            double loss = trainer.Step();
            progress.Clear();
            Console.WriteLine($"step {s} loss {loss.ToString("G17", CultureInfo.InvariantCulture)}");
            progress.Show(s + 1);
        }
        progress.Clear();
        Console.WriteLine($"tokens/s: {trainer.TokensPerSecond.ToString("F1", CultureInfo.InvariantCulture)}");

        if (o.LossOut != null && !quiet)
        {
            string label = $"P = {(o.Mpi ? meshes[0].Size : o.Devices)}{(o.DataParallel > 1 ? $", D = {o.DataParallel}" : "")}";
            string png = LossLog.Write(o.LossOut, trainer.Losses, label);
            Console.WriteLine($"losses: {o.LossOut}, {png}");
        }
        if (o.Save != null)
        {
            // Under MPI every rank takes part: rank 0 gathers its replica's slices and writes.
            models[0].Training.Save(o.Save);
            Console.WriteLine($"saved: {o.Save}");
        }
        return 0;
    }
    catch (Exception e) when (e is ArgumentException or ShardingException or IOException or UnauthorizedAccessException or NotSupportedException)
    {
        Console.Error.WriteLine(string.Join(" ", e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
        return BadInput;
    }
    finally
    {
        foreach (var m in models) m.Dispose();
        foreach (var m in meshes) m.Dispose();
        if (temporary != null) try { Directory.Delete(temporary, recursive: true); } catch (IOException) { }
    }
}

// A small LLaMA-family model over bytes: vocabulary 256, 4 heads with their own KV heads, so 1, 2 and 4 devices split
// it. Under MPI each rank writes the same file (same seed) to its own folder.
static string WriteRandomCheckpoint()
{
    string directory = Path.Combine(Path.GetTempPath(), $"shardgen-train-{Environment.ProcessId}-{Guid.NewGuid():N}");
    return RandomCheckpoint.Write(directory, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: ByteTokens.Vocabulary, Hidden: 64, Heads: 4, KvHeads: 4, FfnHidden: 176, Layers: 2)
    {
        Positions = 512,
        Seed = 42,
    });
}

/// <summary>A one-line progress bar on stderr, drawn only when both streams are a terminal (never into a pipe or a file).</summary>
internal sealed class ProgressBar(int total)
{
    private const int Width = 30;
    private readonly bool _shown = !Console.IsOutputRedirected && !Console.IsErrorRedirected;

    public void Show(int done)
    {
        if (!_shown) return;
        int filled = (int)((long)Width * done / Math.Max(1, total));
        Console.Error.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total}");
    }

    public void Clear()
    {
        if (_shown) Console.Error.Write("\r" + new string(' ', Width + 24) + "\r");
    }
}
