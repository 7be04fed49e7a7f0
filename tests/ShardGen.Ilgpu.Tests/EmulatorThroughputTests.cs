using System;
using System.Diagnostics;
using ShardGen.Devices;
using Xunit.Abstractions;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// Measures (does not judge) the ILGPU CPU accelerator's GEMM rate, so nobody mistakes the emulator for a fast
/// backend: every group thread is an OS thread and every barrier a real one.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class EmulatorThroughputTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(16)]
    [InlineData(64)]
    public void Report_emulator_gemm_gflops(int threadsPerGroup)
    {
        const int n = 64;
        using var mesh = IlgpuDeviceMesh.Create(IlgpuBackend.Cpu, 1, threadsPerGroup);
        var d = mesh.Devices[0];
        var rng = new Random(1);
        var a = Upload(d, Random(rng, n * n), n, n);
        var b = Upload(d, Random(rng, n * n), n, n);
        var c = Alloc(d, n, n);
        d.Gemm(a, false, b, false, c, false);
        d.Synchronize(); // compiled and warm
        const int reps = 2;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) d.Gemm(a, false, b, false, c, false);
        d.Synchronize();
        double gflops = 2.0 * n * n * n * reps / sw.Elapsed.TotalSeconds / 1e9;
        output.WriteLine($"ILGPU CPU accelerator ({threadsPerGroup} threads per group) GEMM {n}×{n}×{n}: {gflops:G3} GFLOP/s, {sw.Elapsed.TotalMilliseconds / reps:F0} ms each ({Environment.ProcessorCount} cores)");
        Assert.True(gflops > 0);
    }
}
