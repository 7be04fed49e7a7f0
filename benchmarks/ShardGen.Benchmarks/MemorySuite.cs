using System;
using System.Linq;
using ShardGen.Benchmarks.Models;
using ShardGen.Tests.Reference;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `memory`: weight bytes each device holds (measured by the device allocators) against total / P, and the
/// managed allocation of a steady-state Forward over the whole process (device workers included), besides the
/// array Forward returns.
/// </summary>
internal static class MemorySuite
{
    private const int Tokens = 128, WarmUp = 5, Runs = 20, Rounds = 3;

    public static void Run(Options o)
    {
        var weights = Mlp1024.Weights.Random(seed: 5);
        var x = ReferenceMath.RandomMatrix(new Random(6), Tokens, 1024);
        long output = Allocation.FloatMatrixBytes(Tokens, 1024); // both models return Tokens × 1024
        long upW = 1024L * 4096 * 4, upB = 4096L * 4, downW = 4096L * 1024 * 4, downB = 1024L * 4;
        long total = upW + upB + downW + downB;
        var table = new Table($"memory: MLP 1024 → 4096 → 1024, weight bytes per device; managed bytes per steady-state Forward ({Tokens} tokens)",
            "P", "weights/device measured", "total / P", "ratio", "replicated (row-parallel bias)", "explained exactly",
            "alloc/Forward process", "output array", "alloc/Forward besides output", "pooled activations/device");
        foreach (int p in new[] { 1, 2, 4 })
        {
            using var mesh = DeviceMesh.CreateCpu(p);
            using var model = Mlp1024.Create(mesh, weights);
            long[] perDevice = mesh.Devices.Select(d => d.AllocatedBytes).ToArray();
            long measured = perDevice.Max();
            bool even = perDevice.All(b => b == measured);
            // Row-parallel biases are replicated by design: each device adds the whole bias after the all-reduce.
            long replicated = downB;
            long expected = (upW + upB + downW) / p + replicated;
            long all = PerForward(() => model.Forward(x));
            table.Add(p, measured, (double)total / p, measured / ((double)total / p), p == 1 ? "0" : $"{replicated:N0} B",
                even && measured == expected && measured == model.Plan.WeightBytesPerDevice ? "yes (= plan)" : $"no: expected {expected:N0}",
                all, output, all - output, mesh.Devices[0].PooledBytes);
        }
        table.Notes.Add("weights/device measured = Device.AllocatedBytes after Create (before any Forward), the same on every device. " +
                        "Exactly (W_up + b_up + W_down)/P + b_down: the row-parallel bias (4 KiB) is the only replication.");
        table.Notes.Add(AllocationNote);
        table.Print();

        var blocks = new Table($"memory: transformer block (hidden 1024, 8 heads, MLP 4096, causal), managed bytes per steady-state Forward ({Tokens} tokens, 2 sequences)",
            "P", "alloc/Forward process", "output array", "alloc/Forward besides output", "pooled activations/device");
        var blockWeights = Block1024.Weights.Random(seed: 7);
        var lengths = new[] { Tokens / 2, Tokens / 2 };
        foreach (int p in new[] { 1, 2, 4 })
        {
            using var mesh = DeviceMesh.CreateCpu(p);
            using var model = Block1024.Create(mesh, blockWeights);
            long all = PerForward(() => model.Forward(x, lengths));
            blocks.Add(p, all, output, all - output, mesh.Devices[0].PooledBytes);
        }
        blocks.Notes.Add(AllocationNote);
        blocks.Print();
    }

    private const string AllocationNote =
        "Allocation: GC.GetTotalAllocatedBytes(precise: true) (every thread: the caller and the device workers) around " +
        "20 Forward calls after 5 warm-up calls, per call, the least of 3 rounds. The returned float[,] is the API's; " +
        "the rest is the tensor path. Pooled = activation buffers the model keeps between passes (Device.PooledBytes).";

    private static long PerForward(Func<float[,]> forward) => Allocation.PerForward(forward, WarmUp, Runs, Rounds);
}
