using System.Reflection;

namespace ShardGen.Benchmarks;

/// <summary>Read-only facts about the runtime that are internal to it (found by reflection, never called in a hot path).</summary>
internal static class Probe
{
    public static string KernelName =>
        typeof(DeviceMesh).Assembly.GetType("ShardGen.Kernels.GemmKernel")?
            .GetProperty("KernelName", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)?.GetValue(null) as string ?? "?";
}
