using System;
using System.Globalization;
using System.Linq;
using ShardGen.GpuCheck;
using ShardGen.Ilgpu;

// ShardGen.GpuCheck [--backend cuda|opencl|cpu] [--size N] [--devices P] [--smoke]
// Prints each check, then RESULT lines (key=value) for scripts. Exit code 1 when a correctness check fails.
var backend = Arg("--backend", "cuda") switch
{
    "cuda" => IlgpuBackend.Cuda,
    "opencl" => IlgpuBackend.OpenCL,
    "cpu" => IlgpuBackend.Cpu,
    var other => throw new ArgumentException($"--backend {other}: expected cuda, opencl or cpu"),
};
bool smoke = args.Contains("--smoke"); // tiny sizes, for the CPU accelerator (an emulator)
int size = int.Parse(Arg("--size", smoke ? "64" : "4096"), CultureInfo.InvariantCulture);
int devices = int.Parse(Arg("--devices", "2"), CultureInfo.InvariantCulture);
const double GemmTolerance = 1e-5, MlpTolerance = 1e-4, BackendTolerance = 1e-5;

IlgpuDeviceMesh one;
try
{
    one = IlgpuDeviceMesh.Create(backend, 1);
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
using var oneMesh = one;
var device = (IlgpuDevice)one.Devices[0];
Console.WriteLine($"ShardGen GPU check {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: {backend}, {device.AcceleratorName} (max group {device.MaxGroupSize})");

bool ok = true;
Console.WriteLine("GEMM correctness (float32 on the device, double on the host):");
double gemmError = smoke ? GemmCheck.Correctness(device, 45, 37, 29, seed: 11) : GemmCheck.Correctness(device, 517, 389, 263, seed: 11);
ok &= Report("gemm_max_relative_error", gemmError, GemmTolerance);

Console.WriteLine("MLP forward (the generated model, unchanged):");
foreach (int p in new[] { 1, devices }.Distinct())
{
    using var mesh = p == 1 ? null : IlgpuDeviceMesh.Create(backend, p); // several devices may share one GPU
    var (reference, cpu) = MlpCheck.Run(mesh ?? one, tokens: smoke ? 8 : 256, seed: 21 + p);
    ok &= Report($"mlp_p{p}_relative_error", reference, MlpTolerance);
    ok &= Report($"mlp_p{p}_vs_cpu_backend", cpu, BackendTolerance);
}

Console.WriteLine($"GEMM throughput, C = A·B at {size}³, float32:");
foreach (int n in smoke ? new[] { size } : new[] { size / 2, size })
{
    double gflops = GemmCheck.Throughput(device, n, samples: smoke ? 1 : 7, perSample: smoke ? 1 : 10);
    Console.WriteLine($"  {n}³: {gflops:F1} GFLOP/s (median)");
    Console.WriteLine($"RESULT gemm_{n}_gflops={gflops.ToString("F1", CultureInfo.InvariantCulture)}");
}
{
    // The group shape decides registers per group and groups per SM; the default is 16×16 (128×128 blocks).
    var chosen = device.GemmGroup;
    Console.WriteLine($"GEMM group shapes at {size}³ (threads along N × along M; each thread 8×8 of C):");
    foreach (var shape in new[] { (16, 16), (16, 8), (8, 16), (8, 8), (4, 4) })
    {
        if (shape.Item1 * shape.Item2 > device.MaxGroupSize) continue;
        device.GemmGroup = shape;
        double gflops = GemmCheck.Throughput(device, size, samples: smoke ? 1 : 5, perSample: smoke ? 1 : 10);
        Console.WriteLine($"  {shape.Item1}×{shape.Item2}{(shape == chosen ? " (default)" : "")}: {gflops:F1} GFLOP/s");
        Console.WriteLine($"RESULT gemm_{size}_group_{shape.Item1}x{shape.Item2}_gflops={gflops.ToString("F1", CultureInfo.InvariantCulture)}");
    }
    device.GemmGroup = chosen;
}
Console.WriteLine(ok ? "RESULT correctness=pass" : "RESULT correctness=FAIL");
return ok ? 0 : 1;

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

static bool Report(string key, double value, double tolerance)
{
    bool pass = value < tolerance;
    Console.WriteLine($"RESULT {key}={value.ToString("E2", CultureInfo.InvariantCulture)} ({(pass ? "pass" : "FAIL")}, tolerance {tolerance:E0})");
    return pass;
}
