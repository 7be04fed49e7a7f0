using System;
using ShardGen.Tests.Reference;

namespace ShardGen.GpuCheck;

/// <summary>The generated MLP, unchanged, on P ILGPU devices against the CPU backend and a double reference.</summary>
internal static class MlpCheck
{
    /// <summary>Returns (error vs the double reference, difference from the CPU backend), both relative.</summary>
    public static (double Reference, double CpuBackend) Run(DeviceMesh mesh, int tokens, int seed)
    {
        var weights = CheckMlp.Weights.Random(seed);
        var x = ReferenceMath.RandomMatrix(new Random(seed + 1), tokens, 1024);
        using var sharded = CheckMlp.Create(mesh, weights);
        var y = sharded.Forward(x);
        var traffic = sharded.LastForward?.ToString() ?? "no traffic recorded";

        using var cpuMesh = DeviceMesh.CreateCpu(mesh.Devices.Count);
        using var onCpu = CheckMlp.Create(cpuMesh, weights);
        var yCpu = onCpu.Forward(x);

        var hidden = ReferenceMath.Linear(ReferenceMath.ToDouble(x), weights.Up!.Weight, weights.Up.Bias, outIn: false, Activation.Gelu);
        var expected = ReferenceMath.Linear(hidden, weights.Down!.Weight, weights.Down.Bias, outIn: false, Activation.None);
        double reference = ReferenceMath.RelativeError(y, expected);
        double cpu = ReferenceMath.RelativeError(y, ReferenceMath.ToDouble(yCpu));
        Console.WriteLine($"  mlp 1024 → 4096 → 1024, {tokens} tokens, {mesh.Devices.Count} device(s): relative error {reference:E2} vs double reference, {cpu:E2} vs CPU backend; {traffic}");
        return (reference, cpu);
    }
}
