using System;
using System.Runtime.InteropServices;
using ShardGen.Devices;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `collectives`: in-process all-reduce on 2 CPU devices, bus bandwidth 2(P−1)/P·N/t against memcpy of
/// N bytes on one thread measured in the same run (side by side), and the latency of small messages.
/// </summary>
internal static unsafe class CollectivesSuite
{
    private const int P = 2;

    public static void Run(Options o)
    {
        var table = new Table($"collectives: ring all-reduce on {P} CPU devices vs memcpy (one thread), same run",
            "message", "one call + sync µs", "back-to-back µs/call", "bus GB/s (back-to-back)", "memcpy GB/s (bytes copied)",
            "memcpy GB/s (read+write)", "ratio bus / memcpy", "target");
        using var mesh = DeviceMesh.CreateCpu(P);
        var sizes = new[] { 4L << 10, 64L << 10, 1L << 20, 4L << 20, 16L << 20, 64L << 20 };
        foreach (long bytes in sizes)
        {
            int n = (int)(bytes / 4);
            var buffers = new DeviceBuffer[P];
            var views = new MatrixView[P];
            for (int r = 0; r < P; r++)
            {
                buffers[r] = mesh.Devices[r].Allocate(n);
                views[r] = buffers[r].AsMatrix(1, n);
                var init = new float[n];
                init.AsSpan().Fill(r + 1);
                mesh.Devices[r].Upload(init, n, views[r]);
            }
            byte* src = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64), dst = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            NativeMemory.Fill(src, (nuint)bytes, 1);
            NativeMemory.Fill(dst, (nuint)bytes, 2);
            try
            {
                // Back-to-back = nccl-tests' method: several calls issued on the devices' queues, one synchronize.
                int calls = (int)Math.Clamp((64L << 20) / bytes, 1, 32);
                var t = Measure.SideBySide(o.Repetitions, o.MinSeconds,
                    () =>
                    {
                        mesh.Collectives.AllReduce(mesh.World, views);
                        mesh.Synchronize();
                    },
                    () =>
                    {
                        for (int c = 0; c < calls; c++) mesh.Collectives.AllReduce(mesh.World, views);
                        mesh.Synchronize();
                    },
                    () => Buffer.MemoryCopy(src, dst, bytes, bytes));
                double perCall = t[1] / calls;
                double bus = 2.0 * (P - 1) / P * bytes / perCall / 1e9, copy = bytes / t[2] / 1e9;
                table.Add(bytes < 1 << 20 ? $"{bytes >> 10} KiB" : $"{bytes >> 20} MiB", t[0] * 1e6, perCall * 1e6, bus, copy, 2 * copy, bus / copy,
                    bytes >= 1 << 20 ? "≥ 0.8" : "latency");
            }
            finally
            {
                NativeMemory.AlignedFree(src);
                NativeMemory.AlignedFree(dst);
                foreach (var b in buffers) b.Dispose();
            }
        }
        table.Notes.Add("Bus bandwidth = 2(P−1)/P·N/t with P = 2, N the message bytes and t the time per call when up to 32 calls " +
                        "are issued back to back and synchronized once (nccl-tests' method: collectives are ordered on the devices' " +
                        "queues like kernels on a stream). 'One call + sync' is the latency of a single call including the host's " +
                        "wait. memcpy = Buffer.MemoryCopy of N bytes on the benchmark thread; the ratio compares bytes reduced with " +
                        "bytes copied (each counted once).");
        table.Print();
    }
}
