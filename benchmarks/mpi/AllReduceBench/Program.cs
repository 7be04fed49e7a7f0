using System;
using System.Diagnostics;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Mpi;

// All-reduce through ShardGen's MPI backend: mesh.Collectives.AllReduce(mesh.World, buffers) on the local CPU
// device's buffer — the path generated model code takes (argument checks, queue drain, MPI_Allreduce in place on
// device memory, byte accounting). Same sizes, iterations, timing and columns as ../allreduce.c.
// With "communicator": MpiCommunicator.AllReduceSum on a pinned host array instead (the P/Invoke layer alone).
// Usage: mpirun -np P dotnet AllReduceBench.dll [repeats] [communicator]
return MpiRuntime.Run(() =>
{
    int repeats = args.Length > 0 ? int.Parse(args[0]) : 3;
    bool raw = args.Length > 1 && args[1] == "communicator";
    using var mesh = MpiDeviceMesh.Create();
    int p = mesh.Size;
    const int maxBytes = 64 << 20;
    var buffers = mesh.Devices.Select(d => d.Allocate(maxBytes / sizeof(float))).ToArray();
    var init = new float[maxBytes / sizeof(float)];
    for (int i = 0; i < init.Length; i++) init[i] = (i + mesh.LocalRank) % 7 * 1e-3f;
    mesh.LocalDevice.Upload(init, init.Length, buffers[mesh.LocalRank].AsMatrix(1, init.Length));
    var host = GC.AllocateArray<float>(maxBytes / sizeof(float), pinned: true);
    init.CopyTo(host, 0);
    string what = raw ? "MpiCommunicator.AllReduceSum" : "MpiDeviceMesh collective engine";
    if (mesh.IsRoot) Console.WriteLine($"# ShardGen {what} all-reduce, {p} ranks ({mesh.Library.Name})\n# bytes iterations us_per_call busbw_GBps");
    for (long bytes = 4096; bytes <= maxBytes; bytes *= 4)
    {
        int count = (int)(bytes / sizeof(float));
        int iterations = (int)Math.Clamp((256L << 20) / bytes, 8, 2000);
        var views = buffers.Select(b => b.AsMatrix(1, count)).ToArray();
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            for (int w = 0; w < 2; w++) AllReduce();
            mesh.Stats.Reset();
            mesh.Communicator.Barrier();
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < iterations; i++) AllReduce();
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds / iterations;
            var all = mesh.Communicator.AllGather(new[] { BitConverter.DoubleToInt64Bits(seconds) });
            best = Math.Min(best, all.Max(BitConverter.Int64BitsToDouble));
        }
        unsafe void AllReduce()
        {
            if (!raw)
            {
                mesh.Collectives.AllReduce(mesh.World, views);
                return;
            }
            fixed (float* h = host) mesh.Communicator.AllReduceSum(h, count);
        }
        double busbw = bytes / best * 2.0 * (p - 1) / p / 1e9;
        if (mesh.IsRoot) Console.WriteLine($"{bytes} {iterations} {best * 1e6:F2} {busbw:F3}");
    }
    foreach (var b in buffers) b.Dispose();
    return 0;
});
