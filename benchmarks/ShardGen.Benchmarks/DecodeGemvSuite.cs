using System;
using System.Linq;
using System.Runtime.Intrinsics;
using ShardGen.Devices;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `decode-gemv`: the GEMMs of one decoded token of a LLaMA-shaped model (hidden 2048, FFN 5632, vocab 32000):
/// y[1, N] = x[1, K]·W[K, N] with W row-major [in, out] as the generated projections call it, and the tied head
/// y[1, V] = x·tableᵀ over the embedding table [V, hidden]. Each is memory-bound: its figure is the weight bytes read
/// per second against one thread's memory-read bandwidth (a vectorized sum over a 512 MiB array), measured side by side.
/// </summary>
internal static class DecodeGemvSuite
{
    private const int Hidden = 2048, Ffn = 5632, Vocab = 32000;

    public static void Run(Options o)
    {
        // SHARDGEN_GEMV_BF16=only: the float32-against-bfloat16 table alone.
        bool bf16Only = Environment.GetEnvironmentVariable("SHARDGEN_GEMV_BF16") == "only";
        if (Environment.GetEnvironmentVariable("SHARDGEN_GEMV_FILTER") == null && !bf16Only) Devices(o);
        if (!bf16Only) DecodeGemvKernels.Run(o);
        DecodeGemvBf16.Run(o);
    }

    private static void Devices(Options o)
    {
        var table = new Table("decode-gemv: one token's GEMMs on 1 device, weight bytes per second against one thread's memory-read bandwidth",
            "device threads", "GEMM", "weight MB", "ms", "GB/s", "read GB/s (same threads)", "ratio");
        foreach (int threads in new[] { 1, 2 })
        {
            using var mesh = DeviceMesh.CreateCpu(1, threads);
            var d = mesh.Devices[0];
            var rng = new Random(11);
            var x = Upload(d, rng, 1, Hidden);
            var up = Upload(d, rng, Hidden, Ffn);
            var yUp = d.Allocate(Ffn).AsMatrix(1, Ffn);
            var head = Upload(d, rng, Hidden, Vocab);
            var embed = Upload(d, rng, Vocab, Hidden);
            var logits = d.Allocate(Vocab).AsMatrix(1, Vocab);
            var block = new BlockStep(d, rng);
            using var read = new ReadBandwidth(128L << 20, threads);
            (string Name, long Bytes, Action Call)[] cases =
            [
                ($"[1,{Hidden}]×[{Hidden},{Ffn}]", 4L * Hidden * Ffn, () => { d.Gemm(x, false, up, false, yUp, false); d.Synchronize(); }),
                ($"[1,{Hidden}]×[{Hidden},{Vocab}]", 4L * Hidden * Vocab, () => { d.Gemm(x, false, head, false, logits, false); d.Synchronize(); }),
                ($"[1,{Hidden}]×[{Vocab},{Hidden}]ᵀ (tied head)", 4L * Hidden * Vocab, () => { d.Gemm(x, false, embed, true, logits, false); d.Synchronize(); }),
                ($"LLaMA block, 1 token, {BlockStep.Cached} cached", block.Bytes, block.Run),
            ];
            var seconds = Measure.SideBySide(o.Repetitions, o.MinSeconds, [read.Sum, .. cases.Select(c => c.Call)]);
            double readGBs = read.Bytes / seconds[0] / 1e9;
            for (int i = 0; i < cases.Length; i++)
            {
                double gbs = cases[i].Bytes / seconds[i + 1] / 1e9;
                table.Add(threads, cases[i].Name, cases[i].Bytes / 1e6, seconds[i + 1] * 1e3, gbs, readGBs, gbs / readGBs);
            }
        }
        table.Notes.Add("GB/s = weight bytes / median time of Device.Gemm + Synchronize (x and y are a few KB). Read GB/s = a 512 MiB " +
                        "float array summed with Vector512 by the same number of threads, timed side by side with the GEMMs. Target: ratio ≥ 0.80 on 1 thread. " +
                        "The block row runs every kernel of one decode step (the residual stream grows a little each run; the bytes read are the same).");
        table.Print();
    }

    /// <summary>
    /// One decode step of a LLaMA block (16 heads, 4 kv heads, head dim 128, FFN 5632) on the device's kernels, the
    /// sequence Forward issues: RmsNorm, q|k|v, rotary, attention over the cache, o, residual, RmsNorm, gate|up, SwiGLU,
    /// down, residual. Its bytes are the weights' plus the cache rows it reads.
    /// </summary>
    private sealed class BlockStep
    {
        public const int Cached = 128;
        private const int Heads = 16, KvHeads = 4, HeadDim = 128;
        private readonly Device _d;
        private readonly MatrixView _x, _h, _gamma, _qkvW, _qkv, _context, _oW, _gateUpW, _gateUp, _act, _downW, _keys, _values;
        private readonly AttentionShape _shape = new(Heads, KvHeads, HeadDim, true, [0, 1]);
        private readonly int[] _position = [Cached];

        public BlockStep(Device d, Random rng)
        {
            _d = d;
            int qkvWidth = (Heads + 2 * KvHeads) * HeadDim, kvWidth = KvHeads * HeadDim;
            _x = Upload(d, rng, 1, Hidden);
            _h = d.Allocate(Hidden).AsMatrix(1, Hidden);
            _gamma = Upload(d, rng, 1, Hidden);
            _qkvW = Upload(d, rng, Hidden, qkvWidth);
            _qkv = d.Allocate(qkvWidth).AsMatrix(1, qkvWidth);
            _context = d.Allocate(Hidden).AsMatrix(1, Hidden);
            _oW = Upload(d, rng, Hidden, Hidden);
            _gateUpW = Upload(d, rng, Hidden, 2 * Ffn);
            _gateUp = d.Allocate(2 * Ffn).AsMatrix(1, 2 * Ffn);
            _act = d.Allocate(Ffn).AsMatrix(1, Ffn);
            _downW = Upload(d, rng, Ffn, Hidden);
            _keys = Upload(d, rng, Cached + 1, kvWidth);
            _values = Upload(d, rng, Cached + 1, kvWidth);
            Bytes = 4L * (Hidden * qkvWidth + Hidden * Hidden + Hidden * 2 * Ffn + Ffn * Hidden + 2L * (Cached + 1) * kvWidth);
        }

        public long Bytes { get; }

        public void Run()
        {
            var d = _d;
            d.Normalize(_x, _h, NormKind.RmsNorm, _gamma, null, 1e-5f);
            d.Gemm(_h, false, _qkvW, false, _qkv, false);
            d.Rotary(_qkv.Columns(0, (Heads + KvHeads) * HeadDim), Heads + KvHeads, HeadDim, _position, 10000f);
            d.Attention(_qkv, _context, _shape, _keys, _values, Cached);
            d.Gemm(_context, false, _oW, false, _x, true);
            d.Normalize(_x, _h, NormKind.RmsNorm, _gamma, null, 1e-5f);
            d.Gemm(_h, false, _gateUpW, false, _gateUp, false);
            d.GatedActivation(_gateUp, _act, Activation.Silu);
            d.Gemm(_act, false, _downW, false, _x, true);
            d.Synchronize();
        }
    }

    private static MatrixView Upload(Device d, Random rng, int rows, int cols)
    {
        var host = new float[(long)rows * cols];
        for (long i = 0; i < host.Length; i++) host[i] = (float)(rng.NextDouble() * 2 - 1);
        var v = d.Allocate(rows * cols).AsMatrix(rows, cols);
        d.Upload(host, cols, v);
        return v;
    }

    /// <summary>Sums a large native array on <paramref name="threads"/> threads: the memory-read limit the GEMMs are measured against.</summary>
    internal sealed unsafe class ReadBandwidth : IDisposable
    {
        private readonly float* _data;
        private readonly long _floats;
        private readonly int _threads;

        public ReadBandwidth(long floats, int threads)
        {
            _floats = floats;
            _threads = threads;
            _data = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(floats * 4), 64);
            new Span<float>(_data, (int)Math.Min(floats, int.MaxValue)).Fill(1f);
            for (long i = int.MaxValue; i < floats; i++) _data[i] = 1f;
        }

        public long Bytes => _floats * 4;

        public void Sum()
        {
            if (_threads == 1)
            {
                Sink = SumRange(0, _floats);
                return;
            }
            long part = _floats / _threads;
            var sums = new float[_threads];
            System.Threading.Tasks.Parallel.For(0, _threads, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = _threads },
                t => sums[t] = SumRange(t * part, t == _threads - 1 ? _floats : (t + 1) * part));
            Sink = sums.Sum();
        }

        public static float Sink;

        private float SumRange(long from, long to)
        {
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            var a2 = Vector512<float>.Zero;
            var a3 = Vector512<float>.Zero;
            float* p = _data;
            long i = from;
            for (; i + 64 <= to; i += 64)
            {
                a0 += Vector512.Load(p + i);
                a1 += Vector512.Load(p + i + 16);
                a2 += Vector512.Load(p + i + 32);
                a3 += Vector512.Load(p + i + 48);
            }
            float s = Vector512.Sum(a0 + a1 + a2 + a3);
            for (; i < to; i++) s += p[i];
            return s;
        }

        public void Dispose() => System.Runtime.InteropServices.NativeMemory.AlignedFree(_data);
    }
}
