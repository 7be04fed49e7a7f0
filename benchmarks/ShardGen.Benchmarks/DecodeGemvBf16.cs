using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using ShardGen.Kernels;
using static ShardGen.Benchmarks.DecodeGemvKernels;

namespace ShardGen.Benchmarks;

/// <summary>
/// Part of suite `decode-gemv`: the decode kernel (<see cref="SkinnyGemm"/>) with B in float32 and in bfloat16 (a BF16
/// checkpoint's weights kept as stored, <see cref="GemmArgs.B16"/>) on the shapes of <see cref="DecodeGemvKernels"/>,
/// side by side with a streaming read of the same threads. bfloat16 B twice: on a 64-byte line, and 8 bytes past one (a
/// safetensors file mapped in place: its tensors are only 8-byte aligned). Each call reads a fresh window of its pool.
/// SHARDGEN_GEMV_FILTER=text keeps the cases whose name contains the text.
/// </summary>
internal static unsafe class DecodeGemvBf16
{
    public static void Run(Options o)
    {
        string? filter = Environment.GetEnvironmentVariable("SHARDGEN_GEMV_FILTER");
        var table = new Table("decode-gemv bf16: SkinnyGemm with B in float32 and in bfloat16, B's bytes per second against a streaming read of the same threads",
            "threads", "B", "[N, K] (ld)", "M", "f32 ms", "bf16 ms", "bf16+8B ms", "f32 GB/s", "bf16 GB/s", "read GB/s", "f32 ratio", "bf16 ratio", "bf16+8B ratio", "bf16 speed-up");
        var pool = (float*)NativeMemory.AlignedAlloc((nuint)(PoolFloats * 4), 64);
        var pool16 = (ushort*)NativeMemory.AlignedAlloc((nuint)(PoolFloats * 2), 64);
        var a = (float*)NativeMemory.AlignedAlloc(8 * 5632 * 4, 64);
        var c = (float*)NativeMemory.AlignedAlloc(8 * 32000 * 4, 64);
        try
        {
            Fill(pool, PoolFloats);
            Fill16(pool16, PoolFloats);
            Fill(a, 8 * 5632);
            foreach (int threads in new[] { 1, 2 })
            {
                using var team = threads > 1 ? new KernelThreadTeam(threads, "gemv bf16 bench") : null;
                var read = new StreamRead(pool, team);
                var cases = new List<(Shape S, int M)>();
                var contenders = new List<Action> { read.Sum };
                foreach (var s in Shapes)
                foreach (int m in RowCounts)
                {
                    if (filter != null && !$"{threads} {Name(s, m)}".Contains(filter, StringComparison.Ordinal)) continue;
                    var f32 = new Window(pool, s, 0);
                    var bf16 = new Window(pool16, s, 0);
                    var off8 = new Window(pool16, s, 4);
                    cases.Add((s, m));
                    contenders.Add(() => SkinnyGemm.Run(f32.Args(a, c, m), team));
                    contenders.Add(() => SkinnyGemm.Run(bf16.Args(a, c, m), team));
                    contenders.Add(() => SkinnyGemm.Run(off8.Args(a, c, m), team));
                }
                if (cases.Count == 0) continue;
                var seconds = BestCalls(o.Repetitions, o.MinSeconds, contenders.ToArray());
                double readGBs = StreamRead.Bytes / seconds[0] / 1e9;
                for (int i = 0; i < cases.Count; i++)
                {
                    var (s, m) = cases[i];
                    double f32 = seconds[1 + 3 * i], bf16 = seconds[2 + 3 * i], off8 = seconds[3 + 3 * i];
                    double bytes = (double)s.N * s.K;
                    double f32GBs = 4 * bytes / f32 / 1e9, bf16GBs = 2 * bytes / bf16 / 1e9, off8GBs = 2 * bytes / off8 / 1e9;
                    table.Add(threads, s.Transposed ? "[N, K]" : "[K, N]", Dims(s), m, f32 * 1e3, bf16 * 1e3, off8 * 1e3, f32GBs, bf16GBs, readGBs,
                        f32GBs / readGBs, bf16GBs / readGBs, off8GBs / readGBs, f32 / bf16);
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(pool);
            NativeMemory.AlignedFree(pool16);
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(c);
        }
        table.Notes.Add("ms = the fastest call (BestCalls: the contenders take turns). GB/s = B's bytes (4 per weight in float32, 2 in bfloat16) / that time. " +
                        "Read GB/s = 32 MiB of the float pool summed with Vector512 by the same team, its fastest call, timed side by side. Ratio = GB/s / read GB/s. " +
                        "Speed-up = f32 ms / bf16 ms (2 when both read at the same bytes per second). Target: transposed B at M = 1, bf16 ratio ≥ 0.85.");
        table.Print();
    }

    /// <summary>A 64-byte aligned pool of random bfloat16 (uniform in [−1, 1), rounded to nearest even).</summary>
    private static void Fill16(ushort* p, long count)
    {
        uint x = 88675123;
        for (long i = 0; i < count; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            uint bits = BitConverter.SingleToUInt32Bits((x >> 8) * (2f / (1 << 24)) - 1f);
            p[i] = (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
        }
    }

    /// <summary>Successive windows of a pool for one shape (float32 or bfloat16), each <paramref name="skew"/> elements past a 64-byte line.</summary>
    private sealed class Window
    {
        private readonly float* _pool;
        private readonly ushort* _pool16;
        private readonly Shape _s;
        private readonly int _skew;
        private readonly long _span;
        private long _offset;

        public Window(float* pool, Shape s, int skew) : this(s, skew) => _pool = pool;

        public Window(ushort* pool, Shape s, int skew) : this(s, skew) => _pool16 = pool;

        private Window(Shape s, int skew)
        {
            _s = s;
            _skew = skew;
            _span = (long)(s.Transposed ? s.N : s.K) * s.Ld + skew;
        }

        public GemmArgs Args(float* a, float* c, int m)
        {
            if (_offset + _span > PoolFloats || _s.Name == "in cache") _offset = 0;
            long at = _offset + _skew;
            _offset += (_span + 31) / 32 * 32;
            return _pool16 != null
                ? new GemmArgs(a, _s.K, false, _pool16 + at, _s.Ld, _s.Transposed, c, _s.N, m, _s.N, _s.K, false, null, Activation.None)
                : new GemmArgs(a, _s.K, false, _pool + at, _s.Ld, _s.Transposed, c, _s.N, m, _s.N, _s.K, false, null, Activation.None);
        }
    }
}
