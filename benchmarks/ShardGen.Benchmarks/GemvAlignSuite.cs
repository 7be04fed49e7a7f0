using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using ShardGen.Kernels;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `gemv-align`: the transposed-B decode GEMV (<see cref="SkinnyGemm"/>, 1 thread, M = 1 and 4) on the LLaMA
/// checkpoint's [out, in] shapes with every row of B starting on a 64-byte line, and 24 bytes past one as the weights
/// of a safetensors file mapped in place do (its data offsets are only 8-byte aligned), read from there directly
/// (<see cref="SkinnyGemm.NoPeel"/>) and from the line before each row with the lanes outside masked, so the vector loads fall on line boundaries.
/// The three take turns in one run, each call on a fresh window of a 512 MiB pool.
/// </summary>
internal static unsafe class GemvAlignSuite
{
    private static readonly (string Name, int N, int K)[] Shapes =
    [
        ("q", 2048, 2048), ("k", 512, 2048), ("o", 2048, 2048), ("gate", 5632, 2048), ("down", 2048, 5632), ("head", 32000, 2048),
    ];

    /// <summary>Floats past the line: 24 bytes, where every tensor of the benchmark checkpoint starts.</summary>
    private const int Shift = 6;

    public static void Run(Options o)
    {
        if (Environment.GetEnvironmentVariable("SHARDGEN_ALIGN_MAPPED_ONLY") == "1")
        {
            Mapped(o);
            return;
        }
        const long poolFloats = DecodeGemvKernels.PoolFloats;
        var pool = (float*)NativeMemory.AlignedAlloc((nuint)(poolFloats * 4), 64);
        var a = (float*)NativeMemory.AlignedAlloc(8 * 5632 * 4, 64);
        var c = (float*)NativeMemory.AlignedAlloc(8 * 32000 * 4, 64);
        var table = new Table("gemv-align: transposed-B GEMV, 1 thread, rows of B on 64-byte lines vs 24 bytes past (as mapped in place), read unaligned or from the line before (edges masked)",
            "[N, K]", "M", "MB", "aligned GB/s", "+24 B unaligned GB/s", "+24 B from the line GB/s", "unaligned / aligned", "from the line / aligned");
        try
        {
            DecodeGemvKernels.Fill(pool, poolFloats);
            DecodeGemvKernels.Fill(a, 8 * 5632);
            var cases = new List<(string Name, int M, long Bytes)>();
            var contenders = new List<Action>();
            foreach (var (name, n, k) in Shapes)
            foreach (int m in new[] { 1, 4 })
            {
                long span = ((long)n * k + Shift + 15) / 16 * 16;
                var at = new long[1];
                GemmArgs Next(int shift)
                {
                    if (at[0] + span > poolFloats) at[0] = 0;
                    float* b = pool + at[0] + shift;
                    at[0] += span;
                    return new GemmArgs(a, k, false, b, k, true, c, n, m, n, k, false, null, Activation.None);
                }
                cases.Add(($"{name} [{n}, {k}]", m, 4L * n * k));
                contenders.Add(() => { SkinnyGemm.NoPeel = false; SkinnyGemm.Run(Next(0)); });
                contenders.Add(() => { SkinnyGemm.NoPeel = true; SkinnyGemm.Run(Next(Shift)); });
                contenders.Add(() => { SkinnyGemm.NoPeel = false; SkinnyGemm.Run(Next(Shift)); });
            }
            var seconds = DecodeGemvKernels.BestCalls(o.Repetitions, o.MinSeconds, contenders.ToArray());
            for (int i = 0; i < cases.Count; i++)
            {
                var (name, m, bytes) = cases[i];
                double al = bytes / seconds[3 * i] / 1e9, un = bytes / seconds[3 * i + 1] / 1e9, pe = bytes / seconds[3 * i + 2] / 1e9;
                table.Add(name, m, bytes / 1e6, al, un, pe, un / al, pe / al);
            }
        }
        finally
        {
            SkinnyGemm.NoPeel = false;
            NativeMemory.AlignedFree(pool);
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(c);
        }
        table.Notes.Add("GB/s = B's bytes / seconds of the fastest call (DecodeGemvKernels.BestCalls: the contenders take turns; A and C in cache).");
        table.Print();        Mapped(o);
    }

    /// <summary>
    /// The checkpoint's own gate weights (8 layers' [5632, 2048], 46 MB each) read in place from a private mapping of
    /// the file (page-cache pages) and from a copy in anonymous memory at the same 24-byte shift, alternately.
    /// </summary>
    private static void Mapped(Options o)
    {
        string path = System.IO.Path.Combine(DecodeSuite.CachedCheckpoint(), "model.safetensors");
        var file = ShardGen.Cpu.MappedFile.TryOpen(path) ?? throw new InvalidOperationException(path);
        file.Populate(0, file.Length);
        byte* data = file.Data;
        long headerBytes = *(long*)data;
        var header = System.Text.Json.JsonDocument.Parse(new ReadOnlySpan<byte>(data + 8, (int)headerBytes).ToArray().AsMemory());
        const int n = 5632, k = 2048, layers = 8;
        var mapped = new float*[layers];
        var copied = new float*[layers];
        var a = (float*)NativeMemory.AlignedAlloc(8 * k * 4, 64);
        var c = (float*)NativeMemory.AlignedAlloc(n * 4, 64);
        DecodeGemvKernels.Fill(a, 8 * k);
        for (int i = 0; i < layers; i++)
        {
            long start = header.RootElement.GetProperty($"model.layers.{i}.mlp.gate_proj.weight").GetProperty("data_offsets")[0].GetInt64();
            mapped[i] = (float*)(data + 8 + headerBytes + start);
            var raw = (byte*)NativeMemory.AlignedAlloc((nuint)n * k * 4 + 64, 64);
            copied[i] = (float*)(raw + ((nint)mapped[i] & 63));
            Buffer.MemoryCopy(mapped[i], copied[i], (long)n * k * 4, (long)n * k * 4);
        }
        int next = 0, nextCopy = 0;
        var seconds = DecodeGemvKernels.BestCalls(o.Repetitions, o.MinSeconds, [
            () => SkinnyGemm.Run(new GemmArgs(a, k, false, mapped[next++ % layers], k, true, c, n, 1, n, k, false, null, Activation.None)),
            () => SkinnyGemm.Run(new GemmArgs(a, k, false, copied[nextCopy++ % layers], k, true, c, n, 1, n, k, false, null, Activation.None)),
        ]);
        double bytes = 4.0 * n * k;
        var table = new Table("gemv-align: the checkpoint's own gate weights, in place in the file's private mapping and copied to anonymous memory at the same shift",
            "[N, K]", "M", "shift B", "mapped GB/s", "anonymous copy GB/s", "mapped / copy");
        table.Add("gate [5632, 2048] × 8 layers", 1, (int)((nint)mapped[0] & 63), bytes / seconds[0] / 1e9, bytes / seconds[1] / 1e9, seconds[1] / seconds[0]);
        table.Notes.Add("Each call the next layer's gate (8 × 46 MB, more than L3); fastest call of each, alternately (BestCalls). SHARDGEN_ALIGN_MAPPED_ONLY=1 runs this table alone.");
        table.Print();
        for (int i = 0; i < layers; i++) NativeMemory.AlignedFree((byte*)copied[i] - ((nint)mapped[i] & 63));
        NativeMemory.AlignedFree(a);
        NativeMemory.AlignedFree(c);
    }
}
