using System;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace ShardGen.Ilgpu.Tests.Ptx;

/// <summary>
/// Compiles the backend's kernels to PTX for the H100/H200 (sm_90) without a GPU: ILGPU's PTX backend is pure
/// .NET. With NVIDIA's <c>ptxas</c> (set SHARDGEN_PTXAS, or have it on PATH) the PTX is also assembled, which
/// reports registers and spills: the static half of "is the CUDA GEMM fast", checkable on any machine.
/// </summary>
public static class PtxCompiler
{
    /// <summary>
    /// The PTX ILGPU would load on an sm_90 device, with PTX ISA 7.8 (the oldest that knows sm_90, so CUDA 11.8's ptxas
    /// reads it). A kernel whose first parameter is an index is implicitly grouped (loaded with LoadAutoGroupedKernel).
    /// </summary>
    public static string Compile(MethodInfo kernel)
    {
        using var context = Context.Create(b => b.Default());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_78, nvvmAPI: null);
        bool implicitlyGrouped = kernel.GetParameters()[0].ParameterType.GetIndexType() != IndexType.None;
        var entry = implicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }

    /// <summary>The ptxas to use, or null when this machine has none.</summary>
    public static string? Ptxas { get; } = FindPtxas();

    /// <summary>Runs <c>ptxas -arch=sm_90 -v</c> on the PTX and returns its report (registers, spills, shared bytes).</summary>
    public static string Assemble(string ptx) => AssembleThen(ptx, (report, cubin) => report);

    /// <summary>The sm_90 machine code (SASS) of the PTX, from ptxas and the cuobjdump beside it.</summary>
    public static string Disassemble(string ptx) => AssembleThen(ptx, (report, cubin) =>
        Run(Path.Combine(Path.GetDirectoryName(Ptxas!)!, "cuobjdump"), ["--dump-sass", cubin]));

    /// <summary>Assembles the PTX in a temporary folder and returns <paramref name="result"/> of ptxas's report and the cubin's path.</summary>
    private static string AssembleThen(string ptx, Func<string, string, string> result)
    {
        if (Ptxas is null) throw new InvalidOperationException("No ptxas: set SHARDGEN_PTXAS to its path.");
        string dir = Directory.CreateTempSubdirectory("shardgen-ptx").FullName;
        try
        {
            string input = Path.Combine(dir, "kernel.ptx");
            File.WriteAllText(input, ptx);
            string cubin = Path.Combine(dir, "kernel.cubin");
            string report = Run(Ptxas, ["-arch=sm_90", "-v", "-o", cubin, input]);
            return result(report, cubin);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string tool, string[] arguments)
    {
        var start = new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        output += stderr.Result;
        if (process.ExitCode != 0) throw new InvalidOperationException($"{Path.GetFileName(tool)} failed ({process.ExitCode}):\n{output}");
        return output;
    }

    private static string? FindPtxas()
    {
        string? configured = Environment.GetEnvironmentVariable("SHARDGEN_PTXAS");
        if (!string.IsNullOrEmpty(configured)) return configured; // a wrong path then fails the test, not skips it
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(folder, "ptxas");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

/// <summary>A test that needs ptxas: reported as skipped, with the reason, on machines without one.</summary>
public sealed class PtxasFactAttribute : FactAttribute
{
    public PtxasFactAttribute()
    {
        if (PtxCompiler.Ptxas is null) Skip = "needs NVIDIA's ptxas: set SHARDGEN_PTXAS (Debian: nvidia-cuda-toolkit, non-free)";
    }
}
