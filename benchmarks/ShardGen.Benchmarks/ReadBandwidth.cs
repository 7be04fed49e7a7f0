using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Threading;

namespace ShardGen.Benchmarks;

/// <summary>
/// Memory read bandwidth on 1 or more threads: each thread sums its share of a buffer far larger than the caches with
/// wide vector loads (4 independent accumulators), best of several passes. The ceiling a decode step, which reads every
/// weight once, can reach.
/// </summary>
internal static unsafe class ReadBandwidth
{
    public static double BytesPerSecond(int threads, long bytes = 1L << 30, int passes = 5)
    {
        long count = bytes / sizeof(float);
        var data = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            new Span<float>(data, (int)Math.Min(count, int.MaxValue)).Fill(1f);
            double best = double.MaxValue;
            float sink = 0;
            for (int pass = 0; pass < passes; pass++)
            {
                var sums = new float[threads];
                var workers = new Thread[threads];
                using var start = new Barrier(threads + 1);
                for (int t = 0; t < threads; t++)
                {
                    int id = t;
                    workers[t] = new Thread(() =>
                    {
                        long first = count / threads * id, length = count / threads;
                        start.SignalAndWait();
                        sums[id] = Sum(data + first, length);
                    });
                    workers[t].Start();
                }
                start.SignalAndWait();
                var clock = Stopwatch.StartNew();
                foreach (var w in workers) w.Join();
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
                foreach (float s in sums) sink += s;
            }
            if (sink == 42) Console.Write(""); // keeps the sums alive
            return bytes / best;
        }
        finally { NativeMemory.AlignedFree(data); }
    }

    private static float Sum(float* p, long length)
    {
        var a = Vector512<float>.Zero;
        var b = a;
        var c = a;
        var d = a;
        long i = 0, step = Vector512<float>.Count;
        for (; i + 4 * step <= length; i += 4 * step)
        {
            a += Vector512.Load(p + i);
            b += Vector512.Load(p + i + step);
            c += Vector512.Load(p + i + 2 * step);
            d += Vector512.Load(p + i + 3 * step);
        }
        float sum = Vector512.Sum(a + b + c + d);
        for (; i < length; i++) sum += p[i];
        return sum;
    }
}
