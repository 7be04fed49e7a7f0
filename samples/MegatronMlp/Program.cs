using System;
using System.Diagnostics;
using System.IO;
using MegatronMlp;
using ShardGen;
using ShardGen.Mpi;
using ShardGen.Samples;
using ShardGen.Tests.Reference;

// Runs the annotated Megatron MLP sharded over devices and checks it against a double-precision reference.
// Usage: dotnet run --project samples/MegatronMlp -c Release [-- --devices 4 --tokens 128 --backend cpu --diagram plan.svg]
// --diagram FILE.svg also writes the plan as a picture (devices as lanes, collectives as bands with their bytes).
// --backend cpu|ilgpu-cpu|cuda|opencl picks the mesh (ilgpu-cpu is an emulator: defaults to 8 tokens, 1 timed run).
// On MPI, one CPU device per rank, the same generated code (rank 0 prints the same report):
//   mpirun -np 4 dotnet samples/MegatronMlp/bin/Release/net10.0/MegatronMlp.dll --mpi [--tokens 128]
bool mpi = Array.IndexOf(args, "--mpi") >= 0;
var backend = SampleBackend.Parse(args, mpi);
if (backend is null) return SampleBackend.Unavailable;
return mpi ? MpiRuntime.Run(() => Run(args, mpi, backend)) : Run(args, mpi, backend);

static int Run(string[] args, bool mpi, SampleBackend backend)
{
    int devices = Option(args, "--devices", 4);
    int tokens = Option(args, "--tokens", backend.IsEmulator ? 8 : 128);

    var weights = Mlp.Weights.Random(seed: 42);
    var x = ReferenceMath.RandomMatrix(new Random(7), tokens, 1024);

    // The only difference between the two runs: the mesh. Every rank loads only its own shards of the same weights.
    var mpiMesh = mpi ? MpiDeviceMesh.Create() : null;
    using var mesh = mpiMesh ?? backend.TryCreateMesh(devices);
    if (mesh is null) return SampleBackend.Unavailable;
    devices = mesh.Size;
    if (mpiMesh is { IsRoot: false }) Console.SetOut(TextWriter.Null); // rank 0 prints
    using var model = Mlp.Create(mesh, weights);

    Console.WriteLine(model.Plan.WithTokens(tokens));
    Console.WriteLine();
    // Under MPI rank 0 alone writes the picture, after the run, so a bad path cannot leave the other ranks waiting.
    bool diagram = DiagramOption.Requested(args, out string? diagramPath);
    if (diagram && !mpi && !DiagramOption.TryWrite(diagramPath, model.Plan.WithTokens(tokens))) return DiagramOption.Unwritable;

    model.Forward(x); // warm-up: JIT and first-touch of the activation buffers
    int runs = backend.IsEmulator ? 1 : 5; // the emulator takes seconds per forward
    var clock = Stopwatch.StartNew();
    float[,] y = null!;
    for (int i = 0; i < runs; i++) y = model.Forward(x);
    double ms = clock.Elapsed.TotalMilliseconds / runs;

    var traffic = model.LastForward!;
    double n = (double)tokens * 1024 * sizeof(float);
    Console.WriteLine("Collectives actually run in the last forward:");
    foreach (var record in traffic.Records)
        Console.WriteLine($"  {record.Kind} over {record.Group} ({record.GroupSize} devices): {record.Elements:N0} floats, {record.TotalBytesSent:N0} B sent in total");
    Console.WriteLine($"  bytes per device: measured {traffic.AverageBytesPerDevice:N0}, planned {model.Plan.PredictedBytesPerDevice(tokens):N0}, " +
                      $"ring formula 2(P−1)/P·N = {2.0 * (devices - 1) / devices * n:N0}");

    if (mpiMesh is { IsRoot: false }) return 0; // the reference check runs once, on rank 0
    if (diagram && mpi && !DiagramOption.TryWrite(diagramPath, model.Plan.WithTokens(tokens))) return DiagramOption.Unwritable;

    // The tests' double-precision reference: plain loops and its own erf, independent of the runtime's kernels.
    var hidden = ReferenceMath.Linear(ReferenceMath.ToDouble(x), weights.Up!.Weight, weights.Up.Bias, false, Activation.Gelu);
    var reference = ReferenceMath.Linear(hidden, weights.Down!.Weight, weights.Down.Bias, false, Activation.None);
    double relative = ReferenceMath.RelativeError(y, reference);
    double gflops = 2.0 * 2 * tokens * 1024 * 4096 / (ms * 1e6);
    Console.WriteLine($"Max error against the double-precision reference: {relative:E2} (max |y − ref| / max |ref|)");
    string where = mpi ? $"{devices} MPI ranks (one CPU device each)" : backend.Name == "cpu" ? $"{devices} CPU devices" : $"{devices} {backend.Name} devices";
    Console.WriteLine($"Forward time: {ms:F2} ms for {tokens} tokens on {where} ({gflops:F1} GFLOP/s), mean of {runs} runs");
    Console.WriteLine("Generated source: samples/MegatronMlp/obj/Release/net10.0/generated/ShardGen.Generators/ShardGen.Generators.ShardGenerator/MegatronMlp.Mlp.g.cs");
    return relative < 1e-4 ? 0 : 1;
}

static int Option(string[] args, string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) && v > 0 ? v : fallback;
}
