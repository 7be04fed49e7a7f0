using System;
using System.Linq;
using ShardGen.Benchmarks.Models;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `memory`: weight bytes each device holds (measured by the device allocators) against total / P, and the
/// managed allocation of a steady-state Forward (calling thread, and the whole process: device workers included).
/// </summary>
internal static class MemorySuite
{
    public static void Run(Options o)
    {
        const int tokens = 128;
        var weights = Mlp1024.Weights.Random(seed: 5);
        var x = MlpSuite.RandomMatrix(new Random(6), tokens, 1024);
        long upW = 1024L * 4096 * 4, upB = 4096L * 4, downW = 4096L * 1024 * 4, downB = 1024L * 4;
        long total = upW + upB + downW + downB;
        var table = new Table("memory: MLP 1024 → 4096 → 1024, weight bytes per device and managed bytes allocated per steady-state Forward (128 tokens)",
            "P", "weights/device measured", "total / P", "ratio", "replicated (row-parallel bias)", "explained exactly",
            "alloc/Forward calling thread", "alloc/Forward process", "of which output array");
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
            for (int i = 0; i < 5; i++) model.Forward(x);
            const int runs = 20;
            long thread0 = GC.GetAllocatedBytesForCurrentThread(), all0 = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < runs; i++) model.Forward(x);
            long thread = (GC.GetAllocatedBytesForCurrentThread() - thread0) / runs;
            long all = (GC.GetTotalAllocatedBytes(precise: true) - all0) / runs;
            long output = (long)tokens * 1024 * 4 + 32;
            table.Add(p, measured, (double)total / p, measured / ((double)total / p), replicated * (p - 1) / Math.Max(p, 1) == 0 ? "0" : $"{replicated:N0} B",
                even && measured == expected && measured == model.Plan.WeightBytesPerDevice ? "yes (= plan)" : $"no: expected {expected:N0}",
                thread, all, output);
        }
        table.Notes.Add("weights/device measured = Device.AllocatedBytes after Create (before any Forward), the same on every device. " +
                        "Exactly (W_up + b_up + W_down)/P + b_down: the row-parallel bias (4 KiB) is the only replication.");
        table.Notes.Add("Allocation: GC.GetAllocatedBytesForCurrentThread and GC.GetTotalAllocatedBytes(precise) around 20 steady-state Forward calls, per call. " +
                        "The output float[,] (returned to the caller) is unavoidable with this API; the rest is listed in benchmarks/README.md.");
        table.Print();
    }
}
