using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen;
using ShardGen.Mpi;
using ShardGen.Planning;
using ShardGen.Tests.EndToEnd;
using ShardGen.Tests.Reference;
using ShardGen.Tests.Transformer;

// Started by the MPI tests as `mpirun -np P dotnet ShardGen.Mpi.TestHost.dll <case>…`. Every rank runs each case's
// generated model on an MpiDeviceMesh and, for comparison, on an in-process CPU mesh of P devices, then prints one line
//   CASE <name> ranks=P rank=r ok=True|False vsInProcess=… vsReference=… traffic=… localWeights=… | <report>
// Special cases: "mismatch" (rank 1 perturbs its input: every rank must detect it), "throw" (rank 1 throws while the
// others wait in a collective: the job must abort with rank 1's message), "nullref" (a caught NullReferenceException).
// Training: "train=FILE" (runs listed in FILE, see TrainCase), "save-fail=ROOT,D" (Save's failures on every rank) and
// "float-norm" (a float model's gradient norm on MPI), "float-blocks" (float transformer-block models train as in process).
// Out of step (the job must abort naming the ranks and steps): "caught" (rank 1's Forward fails at its all-reduce, it
// catches the exception and runs the next Forward), "early" (rank 1 returns from Main before Forward), "extra"
// (rank 0 runs one Forward more than the others), "stuck" (rank 1 sleeps in its own code: only the timeout sees it).
// --out=DIR: each rank also writes its lines to DIR/rank<r>.txt (mpirun may interleave the ranks' standard output).
string? outDir = args.FirstOrDefault(a => a.StartsWith("--out=", StringComparison.Ordinal))?.Substring("--out=".Length);
args = args.Where(a => !a.StartsWith("--out=", StringComparison.Ordinal)).ToArray();
return MpiRuntime.Run(() =>
{
    using var mesh = MpiDeviceMesh.Create();
    int p = mesh.Size, rank = mesh.LocalRank;
    if (outDir != null)
    {
        Output.File = System.IO.Path.Combine(outDir, $"rank{rank}.txt");
        // ShardGen's own failure messages (standard error) land in the rank's file too, whatever mpirun prints.
        Console.SetError(new Output.Tee(Console.Error));
    }
    if (rank == 0) Output.Line($"HOST {p} ranks on {mesh.Library.Name} ({mesh.Library.Flavor})");
    bool allOk = true;
    foreach (var name in args)
    {
        if (name.StartsWith("train=", StringComparison.Ordinal))
        {
            TrainCase.Run(name["train=".Length..]);
            continue;
        }
        if (name.StartsWith("lm-bf16=", StringComparison.Ordinal))
        {
            KeptBFloat16LanguageModel(mesh, name["lm-bf16=".Length..]);
            continue;
        }
        if (name.StartsWith("lm-mapped=", StringComparison.Ordinal))
        {
            MappedLanguageModel(mesh, name["lm-mapped=".Length..]);
            continue;
        }
        if (name.StartsWith("save-fail=", StringComparison.Ordinal))
        {
            TrainCase.SaveFailures(name["save-fail=".Length..]);
            continue;
        }
        switch (name)
        {
            case "mismatch":
                Mismatch(mesh);
                break;
            case "throw":
                Throw(mesh);
                break;
            case "caught":
            case "early":
            case "extra":
            case "stuck":
                if (OutOfStep(mesh, name)) return 0; // this rank returns from Main here
                break;
            case "weights":
                Weights(mesh);
                break;
            case "lm":
                LanguageModel(mesh);
                break;
            case "dp":
                DataParallelCase.Run();
                break;
            case "float-norm":
                TrainCase.FloatNorm(mesh);
                break;
            case "float-blocks":
                FloatBlockCase.Run(mesh);
                break;
            case "dp-odd":
                DataParallelCase.Odd();
                break;
            case "disposed":
                Disposed();
                break;
            case "slow":
                Slow(mesh);
                break;
            case "overhead":
                Overhead(mesh);
                break;
            case "nullref":
                // .NET turns SIGSEGV into NullReferenceException: Open MPI's own signal handlers must not take it over.
                try
                {
                    string? s = args.Length > 100 ? "x" : null;
                    Output.Line(s!.Length.ToString());
                }
                catch (NullReferenceException)
                {
                    Output.Line($"NULLREF rank={rank} caught=True");
                }
                break;
            default:
                if (!Cases.All.TryGetValue(name, out var c)) throw new ArgumentException($"Unknown case '{name}'.");
                if (c.NeedsSquare && PlanCost.GridSide(p) == 0)
                {
                    if (rank == 0) Output.Line($"SKIP {name} ranks={p}: needs a square number of ranks");
                    continue;
                }
                allOk &= Run(mesh, c);
                break;
        }
    }
    return allOk ? 0 : 2;
});

static bool Run(MpiDeviceMesh mesh, Case c)
{
    int p = mesh.Size, rank = mesh.LocalRank;
    var x = Input(c);

    // MPI: this rank's shards only.
    var created = c.Create(mesh);
    using var model = created.Model;
    long localWeightBytes = mesh.LocalDevice.AllocatedBytes;
    var y = c.Forward(model, x);
    var y2 = c.Forward(model, x); // a second pass reuses the communicators and must give the same numbers
    var traffic = model.LastForward!;

    // The same generated code on the in-process mesh of P CPU devices.
    using var cpu = DeviceMesh.CreateCpu(p);
    using var reference = c.CreateModel(cpu);
    long inProcessWeightBytes = cpu.Devices[rank].AllocatedBytes;
    long wholeModelBytes = cpu.Devices.Sum(d => d.AllocatedBytes);
    var yIn = c.Forward(reference, x);
    var trafficIn = reference.LastForward!;

    double vsInProcess = ReferenceMath.RelativeError(y, ReferenceMath.ToDouble(yIn));
    double repeat = ReferenceMath.RelativeError(y2, ReferenceMath.ToDouble(y));
    double vsReference = ReferenceMath.RelativeError(y, c.Reference(created.Weights, x));
    bool trafficSame = traffic.ToString() == trafficIn.ToString()
        && traffic.BytesSentPerDevice.SequenceEqual(trafficIn.BytesSentPerDevice)
        && traffic.Records.SequenceEqual(trafficIn.Records);
    bool weightsLocal = localWeightBytes == inProcessWeightBytes && (p == 1 || localWeightBytes < wholeModelBytes)
        && mesh.Devices.Where(d => !d.IsLocal).All(d => d is RemoteDevice);
    bool ok = vsInProcess < 1e-6 && repeat == 0 && vsReference < 1e-4 && trafficSame && weightsLocal;
    string perDevice = string.Join(",", traffic.BytesSentPerDevice);
    string perDeviceIn = string.Join(",", trafficIn.BytesSentPerDevice);
    Output.Line(
        $"CASE {c.Name} ranks={p} rank={rank} ok={ok} vsInProcess={vsInProcess:E2} repeat={repeat:E2} vsReference={vsReference:E2} " +
        $"traffic={(trafficSame ? "same" : "DIFFERENT")} bytesPerDevice={perDevice} inProcess={perDeviceIn} " +
        $"localWeights={localWeightBytes}/{wholeModelBytes} | {traffic}");
    return ok;
}

// The same input on every rank (a fixed seed), as a sharded Forward requires.
static float[,] Input(Case c) => ReferenceMath.RandomMatrix(new Random(11), c.Tokens, c.Specs[0].InFeatures);

static void Mismatch(MpiDeviceMesh mesh)
{
    var c = Cases.All["mlp"];
    var x = Input(c);
    var perturbed = (float[,])x.Clone();
    if (mesh.LocalRank == 1) perturbed[3, 5] += 1e-3f;
    var created = c.Create(mesh);
    using var model = created.Model;
    try
    {
        c.Forward(model, perturbed);
        Output.Line($"MISMATCH rank={mesh.LocalRank} detected=False");
    }
    catch (ShardingException e)
    {
        Output.Line($"MISMATCH rank={mesh.LocalRank} detected=True {e.Message}");
    }
    // The mesh still works after the refused pass.
    var y = c.Forward(model, x);
    Output.Line($"AFTER-MISMATCH rank={mesh.LocalRank} vsReference={ReferenceMath.RelativeError(y, c.Reference(created.Weights, x)):E2}");
}

// Rank 1 (and rank 3 on 4 ranks) hold a different Down weight: Create must refuse on every rank, naming the layer and
// the ranks, before uploading anything; then the same weights everywhere work.
static void Weights(MpiDeviceMesh mesh)
{
    int rank = mesh.LocalRank;
    var weights = ShardGen.Tests.Models.Mlp.Weights.Random(5);
    if (rank == 1 || rank == 3) weights.Down!.Weight[3, 7] += 1e-3f;
    long before = mesh.LocalDevice.AllocatedBytes;
    try
    {
        using var wrong = ShardGen.Tests.Models.Mlp.Create(mesh, weights);
        Output.Line($"WEIGHTS rank={rank} detected=False");
    }
    catch (ShardingException e)
    {
        Output.Line($"WEIGHTS rank={rank} detected=True allocatedBefore={before} allocatedAfter={mesh.LocalDevice.AllocatedBytes} {e.Message}");
    }
    var c = Cases.All["mlp"];
    var created = c.Create(mesh);
    using var model = created.Model;
    var x = Input(c);
    Output.Line($"AFTER-WEIGHTS rank={rank} vsReference={ReferenceMath.RelativeError(c.Forward(model, x), c.Reference(created.Weights, x)):E2}");
}

// A model whose mesh was disposed: every rank refuses Forward locally, naming the model and the mesh.
static void Disposed()
{
    var second = MpiDeviceMesh.Create();
    var c = Cases.All["mlp"];
    var created = c.Create(second);
    second.Dispose();
    try
    {
        c.Forward(created.Model, Input(c));
        Output.Line($"DISPOSED rank={second.LocalRank} refused=False");
    }
    catch (ObjectDisposedException e)
    {
        Output.Line($"DISPOSED rank={second.LocalRank} refused=True object={e.ObjectName} isDisposed={second.IsDisposed} {e.Message.ReplaceLineEndings(" ")}");
    }
}

// Rank 1 computes for 3 s (under the timeout) before its Forward: the others wait for it, sleeping, and the job goes on.
static void Slow(MpiDeviceMesh mesh)
{
    var c = Cases.All["mlp"];
    var x = Input(c);
    var created = c.Create(mesh);
    using var model = created.Model;
    c.Forward(model, x); // warm: JIT and first-touch out of the measurement
    mesh.Communicator.Barrier();
    if (mesh.LocalRank == 1) System.Threading.Thread.Sleep(3000);
    var process = System.Diagnostics.Process.GetCurrentProcess();
    var cpu = process.TotalProcessorTime;
    var clock = System.Diagnostics.Stopwatch.StartNew();
    var y = c.Forward(model, x);
    process.Refresh();
    double cpuMs = (process.TotalProcessorTime - cpu).TotalMilliseconds;
    Output.Line($"SLOW rank={mesh.LocalRank} wallMs={clock.Elapsed.TotalMilliseconds:F0} cpuMs={cpuMs:F0} vsReference={ReferenceMath.RelativeError(y, c.Reference(created.Weights, x)):E2}");
}

// The step guard's cost: the median forward time of the small MLP (a latency-bound worst case: 24 tokens, one 6 KiB
// all-reduce) with and without the header exchange, interleaved over rounds so load changes hit both alike.
static void Overhead(MpiDeviceMesh mesh)
{
    var c = Cases.All["mlp"];
    var x = Input(c);
    using var model = c.CreateModel(mesh);
    const int Rounds = 15, PerRound = 200;
    var with = new List<double>();
    var without = new List<double>();
    for (int round = 0; round < Rounds; round++)
    {
        foreach (bool checking in new[] { true, false })
        {
            mesh.Guard.Checking = checking;
            mesh.Communicator.Barrier();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int i = 0; i < PerRound; i++) c.Forward(model, x);
            (checking ? with : without).Add(clock.Elapsed.TotalMilliseconds * 1000 / PerRound);
        }
    }
    mesh.Guard.Checking = true;
    static double Median(List<double> v) => v.OrderBy(t => t).ElementAt(v.Count / 2);
    double on = Median(with), off = Median(without);
    Output.Line($"OVERHEAD rank={mesh.LocalRank} forwardWithCheckUs={on:F1} withoutUs={off:F1} ratio={on / off:F3} perForwardUs={on - off:F1}");
    // One engine all-reduce (4 KiB and 256 KiB) with and without its header, interleaved the same way.
    foreach (int floats in new[] { 1024, 65536 })
    {
        var buffers = mesh.Devices.Select(d => d.Allocate(floats)).ToArray();
        var views = buffers.Select(b => b.AsMatrix(1, floats)).ToArray();
        var withAr = new List<double>();
        var withoutAr = new List<double>();
        for (int round = 0; round < Rounds; round++)
        {
            foreach (bool checking in new[] { true, false })
            {
                mesh.Guard.Checking = checking;
                mesh.Communicator.Barrier();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                for (int i = 0; i < PerRound; i++) mesh.Collectives.AllReduce(mesh.World, views);
                (checking ? withAr : withoutAr).Add(clock.Elapsed.TotalMilliseconds * 1000 / PerRound);
            }
        }
        mesh.Guard.Checking = true;
        foreach (var b in buffers) b.Dispose();
        Output.Line($"ALLREDUCE-OVERHEAD rank={mesh.LocalRank} bytes={floats * 4} withCheckUs={Median(withAr):F2} withoutUs={Median(withoutAr):F2} headerUs={Median(withAr) - Median(withoutAr):F2}");
    }

    // Create's weight check: hashing a 1024×4096 layer with bias (the sample's Up) on this rank.
    var big = new LinearWeights(ReferenceMath.RandomMatrix(new Random(3), 1024, 4096), new float[4096]);
    WeightHashes.Of(big);
    var hashClock = System.Diagnostics.Stopwatch.StartNew();
    WeightHashes.Of(big);
    double ms = hashClock.Elapsed.TotalMilliseconds;
    Output.Line($"WEIGHT-HASH rank={mesh.LocalRank} layer=1024x4096 ms={ms:F1} GBps={4.0 * 1024 * 4097 / ms / 1e6:F2}");
}

// Returns true where the rank is to return from Main at once.
static bool OutOfStep(MpiDeviceMesh mesh, string scenario)
{
    var c = Cases.All["mlp"];
    var x = Input(c);
    using var model = c.CreateModel(mesh);
    int rank = mesh.LocalRank;
    switch (scenario)
    {
        case "caught" when rank == 1:
            // A failure inside Forward on this rank only (as a device error would be), after its input check.
            mesh.Guard.BeforeStep = step =>
            {
                if (step == MpiStep.AllReduce)
                {
                    mesh.Guard.BeforeStep = null;
                    throw new InvalidOperationException("deliberate failure inside rank 1's first Forward");
                }
            };
            try
            {
                c.Forward(model, x);
            }
            catch (InvalidOperationException e)
            {
                Output.Line($"CAUGHT rank={rank} {e.Message}; going on");
            }
            break;
        case "early" when rank == 1:
            Output.Line($"EARLY rank={rank} returns from Main before Forward");
            return true;
        case "stuck" when rank == 1:
            Output.Line($"STUCK rank={rank} sleeps");
            System.Threading.Thread.Sleep(TimeSpan.FromMinutes(2));
            break;
    }
    c.Forward(model, x);
    if (scenario == "extra" && rank == 0) c.Forward(model, x);
    Output.Line($"FINISHED rank={rank} {scenario}");
    return false;
}

static void Throw(MpiDeviceMesh mesh)
{
    var c = Cases.All["mlp"];
    var x = Input(c);
    using var model = c.CreateModel(mesh);
    if (mesh.LocalRank == 1) throw new InvalidOperationException("deliberate failure on rank 1 before its forward pass");
    c.Forward(model, x); // the other ranks wait in the all-reduce for rank 1, until MPI_Abort ends them
    Output.Line($"THROW rank={mesh.LocalRank} finished (should have been aborted)");
}

// A language model on MPI ranks: logits against the double-precision reference, cache decode against recomputation,
// and the floats each rank read from the weight source (shard on load: its own slices only).
static void LanguageModel(MpiDeviceMesh mesh)
{
    int rank = mesh.LocalRank;
    var weights = ShardGen.Tests.LanguageModel.LanguageModelReference.RandomWeights(ShardGen.Tests.LanguageModel.TinyLlama.PlanFor(1), 3);
    var counting = new CountingWeights(weights);
    using var model = ShardGen.Tests.LanguageModel.TinyLlama.Create(mesh, counting);
    long whole = ShardGen.Runtime.LanguageModelWeights.Expected(model.Plan).Sum(t => (long)t.Rows * t.Cols);
    var ids = Enumerable.Range(0, 11).Select(i => (i * 389 + 17) % 1003).ToArray();
    var logits = model.Forward(ids, new[] { 7, 4 });
    double vsReference = ReferenceMath.RelativeError(logits,
        ShardGen.Tests.LanguageModel.LanguageModelReference.Logits(ShardGen.Tests.LanguageModel.TinyLlama.LayerSpecs, weights, ids, new[] { 0, 7, 11 }));
    ILanguageModel lm = model;
    using var cache = lm.CreateCache(16);
    lm.Forward(ids.Take(5).ToArray(), cache);
    double worst = 0;
    for (int n = 5; n < 8; n++)
    {
        var step = lm.Forward(new[] { ids[n] }, cache);
        var full = lm.Forward(ids.Take(n + 1).ToArray(), null);
        double diff = 0, max = 0;
        for (int v = 0; v < step.GetLength(1); v++)
        {
            diff = Math.Max(diff, Math.Abs(step[0, v] - full[n, v]));
            max = Math.Max(max, Math.Abs(full[n, v]));
        }
        worst = Math.Max(worst, diff / max);
    }
    Output.Line($"LM rank={rank} ranks={mesh.Size} vsReference={vsReference:E2} cacheVsRecompute={worst:E2} read={counting.Floats} whole={whole}");
}

// An F32 checkpoint loaded on MPI ranks: each rank's own CPU device views its slices in place in a private mapping of
// the file: its parameters are about 1/P of the file, and of the file's pages this process has only a part resident
// (its mappings' Rss in /proc/self/smaps, taken before anything else reads the file; the kernel maps whole page-cache
// folios, so a slice's neighbours show up too); logits against one in-process device's copied load.
static void MappedLanguageModel(MpiDeviceMesh mesh, string dir)
{
    string file = System.IO.Path.Combine(dir, ShardGen.Checkpoints.Checkpoint.SingleFile);
    long length = new System.IO.FileInfo(file).Length;
    using var model = ShardGen.Tests.LanguageModel.Llama.Load(mesh, dir);
    long resident = ResidentBytesOf(file);
    var mine = model.Training.Parameters.Where(s => s.Value.Device.IsLocal).ToArray();
    bool viewed = mine.Where(s => s.Key.Role == WeightRole.MlpDown).All(s => s.Transposed);
    long own = mine.Sum(s => (long)s.Rows * s.Cols * sizeof(float));
    var ids = Enumerable.Range(0, 9).Select(i => (i * 389 + 17) % 1000).ToArray();
    var logits = model.Forward(ids);
    using var local = DeviceMesh.CreateCpu(1);
    using var copied = ShardGen.Tests.LanguageModel.Llama.Load(local, dir, copyWeights: true);
    var expected = copied.Forward(ids);
    double diff = 0, max = 0;
    for (int t = 0; t < logits.GetLength(0); t++)
        for (int v = 0; v < logits.GetLength(1); v++)
        {
            diff = Math.Max(diff, Math.Abs(logits[t, v] - expected[t, v]));
            max = Math.Max(max, Math.Abs(expected[t, v]));
        }
    Output.Line($"MAPPED rank={mesh.LocalRank} ranks={mesh.Size} viewed={viewed} own={own} resident={resident} file={length} vsCopied={diff / max:E2}");
}

// A BF16 checkpoint kept in BF16 on every rank: each rank's device holds its own slices at two bytes per element,
// and the logits equal a widened load's (keepBFloat16: false) on one local device.
static void KeptBFloat16LanguageModel(MpiDeviceMesh mesh, string dir)
{
    using var model = ShardGen.Tests.LanguageModel.Llama.Load(mesh, dir, keepBFloat16: true);
    long kept = mesh.Devices[mesh.LocalRank].AllocatedBytes;
    var ids = Enumerable.Range(0, 11).Select(i => (i * 389 + 17) % 1000).ToArray();
    var logits = model.Forward(ids);
    using var local = DeviceMesh.CreateCpu(1);
    using var widened = ShardGen.Tests.LanguageModel.Llama.Load(local, dir);
    long whole = local.Devices[0].AllocatedBytes;
    var expected = widened.Forward(ids);
    double diff = 0, max = 0;
    for (int t = 0; t < logits.GetLength(0); t++)
        for (int v = 0; v < logits.GetLength(1); v++)
        {
            diff = Math.Max(diff, Math.Abs(logits[t, v] - expected[t, v]));
            max = Math.Max(max, Math.Abs(expected[t, v]));
        }
    Output.Line($"BF16 rank={mesh.LocalRank} ranks={mesh.Size} kept={kept} widenedWhole={whole} vsWidened={diff / max:E2}");
}

// Resident bytes of this process's mappings of path (every mapping of it: the reader's and the private one).
static long ResidentBytesOf(string path)
{
    long kb = 0;
    bool inside = false;
    foreach (var line in System.IO.File.ReadLines("/proc/self/smaps"))
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length >= 5 && fields[0].Contains('-') && !fields[0].EndsWith(':')) inside = fields.Length >= 6 && fields[5] == path;
        else if (inside && fields.Length >= 2 && fields[0] == "Rss:") kb += long.Parse(fields[1]);
    }
    return kb * 1024;
}

/// <summary>Lines to standard output and, with --out, to this rank's file.</summary>
internal static class Output
{
    public static string? File { get; set; }

    /// <summary>Standard error that also appends each line to <see cref="File"/>.</summary>
    public sealed class Tee(System.IO.TextWriter inner) : System.IO.TextWriter
    {
        private readonly System.Text.StringBuilder _line = new();

        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            inner.Write(value);
            if (value == '\n')
            {
                if (File != null) System.IO.File.AppendAllText(File, _line.ToString().TrimEnd('\r') + Environment.NewLine);
                _line.Clear();
            }
            else
            {
                _line.Append(value);
            }
        }

        public override void Flush() => inner.Flush();
    }

    public static void Line(string text)
    {
        Console.WriteLine(text);
        if (File != null) System.IO.File.AppendAllText(File, text + Environment.NewLine);
    }
}

/// <summary>A generated model, how to create it with fixed weights, run it, and compute its double-precision reference.</summary>
internal sealed record Case(string Name, IReadOnlyList<LayerSpec> Specs, int Tokens, bool NeedsSquare,
    Func<DeviceMesh, (IShardedModel Model, LayerWeights[] Weights)> Create, Func<IShardedModel, float[,], float[,]> Forward,
    Func<LayerWeights[], float[,], double[,]> Reference)
{
    public IShardedModel CreateModel(DeviceMesh mesh) => Create(mesh).Model;
}

/// <summary>The core suite's model fixtures (ModelCase, TransformerCase) under the names the MPI tests ask for.</summary>
internal static class Cases
{
    // The same seed for every rank and for the in-process mesh: identical weights everywhere.
    private const int Seed = 5;

    // Packed sequences of uneven length: token shards of different sizes under sequence parallelism.
    private static readonly int[] Lengths = { 7, 10 };

    public static readonly Dictionary<string, Case> All = new[]
    {
        Linear("mlp", ModelCase.Mlp, 24, false),
        Linear("columncolumn", ModelCase.ColumnColumn, 20, false),
        Linear("threelayer", ModelCase.ThreeLayer, 20, false),
        Linear("summa", ModelCase.Summa, 21, true),
        Linear("summatorch", ModelCase.SummaTorch, 21, true),
        Linear("mixed", ModelCase.Mixed, 19, true),
        Transformer("transformer-sp", TransformerCase.TwoBlocksSequenceParallel, Lengths.Sum(), Lengths),
        Transformer("transformer", TransformerCase.Gqa, 13, null),
    }.ToDictionary(c => c.Name);

    private static Case Linear(string name, ModelCase m, int tokens, bool square) =>
        new(name, m.Specs, tokens, square, mesh => m.Create(mesh, Seed), (model, x) => model.Forward(x),
            (weights, x) => m.Reference((LinearWeights[])weights, x));

    private static Case Transformer(string name, TransformerCase t, int tokens, int[]? lengths) =>
        new(name, t.Specs, tokens, false, mesh => t.Create(mesh, Seed), (model, x) => t.Forward(model, x, lengths),
            (weights, x) => t.Reference(weights, x, lengths));
}

/// <summary>An IWeightSource that counts the floats read from it.</summary>
sealed class CountingWeights(IWeightSource inner) : IWeightSource
{
    public long Floats { get; private set; }
    public (int Rows, int Cols)? Shape(WeightKey key) => inner.Shape(key);
    public string Name(WeightKey key) => inner.Name(key);
    public void Read(WeightKey key, int row0, int rows, int col0, int cols, Span<float> destination)
    {
        Floats += (long)rows * cols;
        inner.Read(key, row0, rows, col0, cols, destination);
    }
}
