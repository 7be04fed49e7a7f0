using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen;
using ShardGen.Mpi;
using ShardGen.Tests.Models;
using ShardGen.Planning;
using ShardGen.Tests.Reference;

// Started by the MPI tests as `mpirun -np P dotnet ShardGen.Mpi.TestHost.dll <case>…`. Every rank runs each case's
// generated model on an MpiDeviceMesh and, for comparison, on an in-process CPU mesh of P devices, then prints one line
//   CASE <name> ranks=P rank=r ok=True|False vsInProcess=… vsReference=… traffic=… localWeights=… | <report>
// Special cases: "mismatch" (rank 1 perturbs its input: every rank must detect it), "throw" (rank 1 throws while the
// others wait in a collective: the job must abort with rank 1's message), "notfound" (no MPI library loads).
// --out=DIR: each rank also writes its lines to DIR/rank<r>.txt (mpirun may interleave the ranks' standard output).
string? outDir = args.FirstOrDefault(a => a.StartsWith("--out=", StringComparison.Ordinal))?.Substring("--out=".Length);
args = args.Where(a => !a.StartsWith("--out=", StringComparison.Ordinal)).ToArray();
return MpiRuntime.Run(() =>
{
    if (args.Length == 1 && args[0] == "notfound")
    {
        try
        {
            MpiLibrary.Load(new[] { "libshardgen-no-such-mpi.so.99" });
            Output.Line("NOTFOUND no exception");
            return 1;
        }
        catch (MpiNotFoundException e)
        {
            Output.Line("NOTFOUND " + e.Message);
            return 0;
        }
    }

    using var mesh = MpiDeviceMesh.Create();
    int p = mesh.Size, rank = mesh.LocalRank;
    if (outDir != null) Output.File = System.IO.Path.Combine(outDir, $"rank{rank}.txt");
    if (rank == 0) Output.Line($"HOST {p} ranks on {mesh.Library.Name} ({mesh.Library.Flavor})");
    bool allOk = true;
    foreach (var name in args)
    {
        switch (name)
        {
            case "mismatch":
                Mismatch(mesh);
                break;
            case "throw":
                Throw(mesh);
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
                if (c.NeedsSquare && (int)Math.Round(Math.Sqrt(p)) is int q && q * q != p)
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
    var x = ReferenceMath.RandomMatrix(new Random(11), c.Tokens, c.Specs[0].InFeatures);

    // MPI: this rank's shards only.
    using var model = c.Create(mesh);
    long localWeightBytes = mesh.LocalDevice.AllocatedBytes;
    var y = c.Forward(model, x);
    var y2 = c.Forward(model, x); // a second pass reuses the communicators and must give the same numbers
    var traffic = model.LastForward!;

    // The same generated code on the in-process mesh of P CPU devices.
    using var cpu = DeviceMesh.CreateCpu(p);
    using var reference = c.Create(cpu);
    long inProcessWeightBytes = cpu.Devices[rank].AllocatedBytes;
    long wholeModelBytes = cpu.Devices.Sum(d => d.AllocatedBytes);
    var yIn = c.Forward(reference, x);
    var trafficIn = reference.LastForward!;

    double vsInProcess = ReferenceMath.RelativeError(y, ReferenceMath.ToDouble(yIn));
    double repeat = ReferenceMath.RelativeError(y2, ReferenceMath.ToDouble(y));
    double vsReference = ReferenceMath.RelativeError(y, c.Reference(x));
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

static void Mismatch(MpiDeviceMesh mesh)
{
    var c = Cases.All["mlp"];
    var x = ReferenceMath.RandomMatrix(new Random(11), c.Tokens, c.Specs[0].InFeatures);
    if (mesh.LocalRank == 1) x[3, 5] += 1e-3f;
    using var model = c.Create(mesh);
    try
    {
        c.Forward(model, x);
        Output.Line($"MISMATCH rank={mesh.LocalRank} detected=False");
    }
    catch (ShardingException e)
    {
        Output.Line($"MISMATCH rank={mesh.LocalRank} detected=True {e.Message}");
    }
    // The mesh still works after the refused pass.
    var y = c.Forward(model, ReferenceMath.RandomMatrix(new Random(11), c.Tokens, c.Specs[0].InFeatures));
    Output.Line($"AFTER-MISMATCH rank={mesh.LocalRank} vsReference={ReferenceMath.RelativeError(y, c.Reference(ReferenceMath.RandomMatrix(new Random(11), c.Tokens, c.Specs[0].InFeatures))):E2}");
}

static void Throw(MpiDeviceMesh mesh)
{
    var c = Cases.All["mlp"];
    var x = ReferenceMath.RandomMatrix(new Random(11), c.Tokens, c.Specs[0].InFeatures);
    using var model = c.Create(mesh);
    if (mesh.LocalRank == 1) throw new InvalidOperationException("deliberate failure on rank 1 before its forward pass");
    c.Forward(model, x); // the other ranks wait in the all-reduce for rank 1, until MPI_Abort ends them
    Output.Line($"THROW rank={mesh.LocalRank} finished (should have been aborted)");
}

/// <summary>Lines to standard output and, with --out, to this rank's file.</summary>
internal static class Output
{
    public static string? File { get; set; }

    public static void Line(string text)
    {
        Console.WriteLine(text);
        if (File != null) System.IO.File.AppendAllText(File, text + Environment.NewLine);
    }
}

/// <summary>A generated model, how to create it with fixed weights, run it, and compute its double-precision reference.</summary>
internal sealed record Case(string Name, IReadOnlyList<LayerSpec> Specs, int Tokens, bool NeedsSquare,
    Func<DeviceMesh, IShardedModel> Create, Func<IShardedModel, float[,], float[,]> Forward, Func<float[,], double[,]> Reference);

internal static class Cases
{
    private const int Seed = 5;

    // Packed sequences of uneven length: token shards of different sizes under sequence parallelism.
    private static readonly int[] Lengths = { 7, 10 };

    public static readonly Dictionary<string, Case> All = new Case[]
    {
        Linear("mlp", Mlp.LayerSpecs, 24, false, m => Mlp.Create(m, Mlp.Weights.Random(Seed)),
            () => { var w = Mlp.Weights.Random(Seed); return new[] { w.Up!, w.Down! }; }),
        Linear("columncolumn", ColumnColumn.LayerSpecs, 20, false, m => ColumnColumn.Create(m, ColumnColumn.Weights.Random(Seed)),
            () => { var w = ColumnColumn.Weights.Random(Seed); return new[] { w.First!, w.Second! }; }),
        Linear("threelayer", ThreeLayer.LayerSpecs, 20, false, m => ThreeLayer.Create(m, ThreeLayer.Weights.Random(Seed)),
            () => { var w = ThreeLayer.Weights.Random(Seed); return new[] { w.A!, w.B!, w.C! }; }),
        Linear("summa", Summa.LayerSpecs, 21, true, m => Summa.Create(m, Summa.Weights.Random(Seed)),
            () => new[] { Summa.Weights.Random(Seed).Layer! }),
        Linear("summatorch", SummaTorch.LayerSpecs, 21, true, m => SummaTorch.Create(m, SummaTorch.Weights.Random(Seed)),
            () => new[] { SummaTorch.Weights.Random(Seed).Layer! }),
        Linear("mixed", Mixed.LayerSpecs, 19, true, m => Mixed.Create(m, Mixed.Weights.Random(Seed)),
            () => { var w = Mixed.Weights.Random(Seed); return new[] { w.Up!, w.Mid!, w.Down! }; }),
        new Case("transformer-sp", TwoBlocksSequenceParallel.LayerSpecs, Lengths.Sum(), false,
            m => TwoBlocksSequenceParallel.Create(m, TwoBlocksSequenceParallel.Weights.Random(Seed)),
            (model, x) => ((TwoBlocksSequenceParallel)model).Forward(x, Lengths),
            x =>
            {
                var w = TwoBlocksSequenceParallel.Weights.Random(Seed);
                var specs = TwoBlocksSequenceParallel.LayerSpecs;
                var starts = new[] { 0, Lengths[0], Lengths.Sum() };
                var h = TransformerReference.Block(ReferenceMath.ToDouble(x), specs[0], w.First!, starts);
                h = TransformerReference.Block(h, specs[1], w.Second!, starts);
                return ReferenceMath.Linear(h, w.Head!.Weight, w.Head.Bias, false, specs[2].Activation);
            }),
        new Case("transformer", GqaBlock.LayerSpecs, 13, false,
            m => GqaBlock.Create(m, GqaBlock.Weights.Random(Seed)),
            (model, x) => model.Forward(x),
            x => TransformerReference.Block(ReferenceMath.ToDouble(x), GqaBlock.LayerSpecs[0], GqaBlock.Weights.Random(Seed).Block!, new[] { 0, x.GetLength(0) })),
    }.ToDictionary(c => c.Name);

    private static Case Linear(string name, IReadOnlyList<LayerSpec> specs, int tokens, bool square, Func<DeviceMesh, IShardedModel> create,
        Func<LinearWeights[]> weights) =>
        new(name, specs, tokens, square, create, (model, x) => model.Forward(x), x =>
        {
            var h = ReferenceMath.ToDouble(x);
            var w = weights();
            for (int i = 0; i < specs.Count; i++)
                h = ReferenceMath.Linear(h, w[i].Weight, w[i].Bias, specs[i].WeightLayout == WeightLayout.OutIn, specs[i].Activation);
            return h;
        });
}
