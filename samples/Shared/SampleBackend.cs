using System;
using ShardGen;
using ShardGen.Ilgpu;

namespace ShardGen.Samples;

/// <summary>
/// The samples' <c>--backend cpu|ilgpu-cpu|cuda|opencl</c> option (default <c>cpu</c>): which mesh the same generated
/// model runs on. A backend this machine lacks is one line on stderr and exit code 2, never a stack trace.
/// </summary>
internal sealed class SampleBackend
{
    /// <summary>The exit code for a bad <c>--backend</c> or one this machine cannot run.</summary>
    public const int Unavailable = 2;

    private static readonly string[] Names = ["cpu", "ilgpu-cpu", "cuda", "opencl"];

    private SampleBackend(string name) => Name = name;

    /// <summary>The backend's option value, as the user wrote it.</summary>
    public string Name { get; }

    /// <summary>ILGPU's CPU accelerator: a GPU emulator, thousands of times slower than <c>cpu</c> (for correctness only).</summary>
    public bool IsEmulator => Name == "ilgpu-cpu";

    /// <summary>The <c>--backend</c> option of <paramref name="args"/>, or null after a one-line error on stderr.</summary>
    public static SampleBackend? Parse(string[] args, bool mpi)
    {
        int i = Array.IndexOf(args, "--backend");
        string name = i < 0 ? "cpu" : i + 1 < args.Length ? args[i + 1] : "";
        if (name.Length == 0)
            return Fail($"--backend needs a value: one of {string.Join(", ", Names)}.");
        if (Array.IndexOf(Names, name) < 0)
            return Fail($"--backend '{name}' is not a backend: use one of {string.Join(", ", Names)}.");
        if (mpi && name != "cpu")
            return Fail($"--backend {name} cannot be combined with --mpi: under MPI each rank runs one CPU device (drop --backend or --mpi).");
        return new SampleBackend(name);
    }

    /// <summary>A mesh of <paramref name="devices"/> devices of this backend, or null after a one-line error on stderr.</summary>
    public DeviceMesh? TryCreateMesh(int devices)
    {
        try
        {
            return Name switch
            {
                "cpu" => DeviceMesh.CreateCpu(devices),
                "ilgpu-cpu" => IlgpuDeviceMesh.Create(IlgpuBackend.Cpu, devices),
                "cuda" => IlgpuDeviceMesh.Create(IlgpuBackend.Cuda, devices),
                _ => IlgpuDeviceMesh.Create(IlgpuBackend.OpenCL, devices),
            };
        }
        catch (Exception e) when (e is not ArgumentException)
        {
            // No driver, no device, a native library missing: ILGPU reports each differently, the user needs one line.
            // The runtime's hint names its API (IlgpuBackend.Cpu); the sample's user needs the flag instead.
            string reason = e.Message.Split('\n')[0].Trim().Replace("IlgpuBackend.Cpu runs anywhere.", "--backend ilgpu-cpu or cpu runs anywhere.");
            Fail($"--backend {Name} is not available on this machine: {reason}");
            return null;
        }
    }

    private static SampleBackend? Fail(string message)
    {
        Console.Error.WriteLine(message);
        return null;
    }
}
