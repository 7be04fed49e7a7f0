using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Runtime;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `load`: reading a LLaMA-shaped safetensors checkpoint (vocab 32000, hidden 2048, 16 heads, 4 KV heads,
/// FFN 5632, 8 layers: 492 M parameters, 1.97 GB in F32) into float32 [in, out] weights through
/// <see cref="CheckpointWeights"/> (transposing every [out, in] projection) and loading it onto CPU meshes (in place for
/// F32, and copied), against
/// reading the file once with FileStream; page cache warm. Also the reads of 2 devices' slices (Megatron
/// column/row/vocabulary ranges, one after the other) and a BF16 file (half the bytes, converted while reading).
/// </summary>
internal static class LoadSuite
{
    public static void Run(Options o)
    {
        var shape = o.Quick
            ? new RandomCheckpointSpec(ModelFamily.Llama, 4000, 512, 8, 2, 1408, 2)
            : new RandomCheckpointSpec(ModelFamily.Llama, 32000, 2048, 16, 4, 5632, 8);
        var table = new Table($"load: LLaMA-shaped checkpoint (vocab {shape.Vocab}, hidden {shape.Hidden}, {shape.Heads} heads, {shape.KvHeads} KV heads, FFN {shape.FfnHidden}, {shape.Layers} layers), page cache warm",
            "file", "GB", "read once s", "GB/s", "reader s", "reader / read", "2 devices' slices s", "slices / read", "fresh memory s", "fresh / read",
            "Load 1 device s", "Load / read", "Load 2 devices s", "Load 2 / read", "copied 1 device s", "copied / read");
        foreach (var dtype in new[] { SafetensorsDType.F32, SafetensorsDType.BF16 })
        {
            string dir = Checkpoint(shape with { DType = dtype });
            string file = Path.Combine(dir, ShardGen.Checkpoints.Checkpoint.SingleFile);
            long bytes = new FileInfo(file).Length;
            var buffer = new byte[4 << 20];
            using var checkpoint = ShardGen.Checkpoints.Checkpoint.Open(dir);
            var layers = ConfigResolver.Resolve(Declared(), checkpoint.Config);
            var weights = new CheckpointWeights(checkpoint, layers);
            var keys = Keys(weights, layers[weights.Layers.Stack].Block!.Layers).ToList();
            var block = new float[BlockFloats];
            using var one = DeviceMesh.CreateCpu(1);
            using var two = DeviceMesh.CreateCpu(2);

            var sizes = keys.Select(k => weights.Shape(k)!.Value).ToList();
            var zeros = new float[BlockFloats];

            var seconds = Measure.SideBySide(o.Repetitions, 0,
                () => ReadOnce(file, buffer),
                () => { foreach (var key in keys) ReadBlocks(weights, key, Whole(weights.Shape(key)!.Value), block); },
                () => { foreach (var key in keys) for (int d = 0; d < 2; d++) ReadBlocks(weights, key, Slice(key.Role, weights.Shape(key)!.Value, 2, d), block); },
                () => FreshMemory(one.Devices[0], sizes, zeros),
                () => LanguageModelLoader.Load(one, "Llama", Declared(), 0, false, dir).Dispose(),
                () => LanguageModelLoader.Load(two, "Llama", Declared(), 0, false, dir).Dispose(),
                () => LanguageModelLoader.Load(one, "Llama", Declared(), 0, false, dir, copyWeights: true).Dispose());
            table.Add(dtype.ToString(), bytes / 1e9, seconds[0], bytes / 1e9 / seconds[0], seconds[1], seconds[1] / seconds[0], seconds[2], seconds[2] / seconds[0],
                seconds[3], seconds[3] / seconds[0], seconds[4], seconds[4] / seconds[0], seconds[5], seconds[5] / seconds[0], seconds[6], seconds[6] / seconds[0]);
        }
        table.Notes.Add("read once = FileStream.Read of the whole file into one 4 MiB buffer. reader = CheckpointWeights.Read of every logical weight " +
                        "(float32, [in, out]: q/k/v/o/gate/up/down and lm_head transposed from [out, in]) in blocks of 4 MiB into one buffer, as the runtime's " +
                        "WeightReader does before each upload; 2 devices' slices: the same as two devices' column, row or vocabulary ranges (norms replicated), " +
                        "one after the other. fresh memory = allocating every weight's float32 buffer on one CPU device and writing it once (zeros, " +
                        "Device.Upload in 4 MiB blocks, one thread), freed after: the floor of any load into new memory (page faults; on this VM each " +
                        "fresh page also faults on the host). Load = LanguageModelLoader.Load on a CPU mesh (open, resolve, plan, check, allocate, read and upload every slice), " +
                        "as the generated Llama.Load: on Linux an F32 file's matrices are viewed in place in a private mapping of the file (MADV_POPULATE_READ of each " +
                        "device's slices, nothing copied), a BF16 file is converted into fresh [in, out] buffers; copied = the same with copyWeights: true " +
                        "(every slice into fresh [in, out] buffers, blocks of rows on the thread pool). Target (issue 13): F32 Load ≤ 1.5 × read once. Checkpoints are written once to the " +
                        "temp folder and reused.");
        table.Print();
    }

    private static string Checkpoint(RandomCheckpointSpec spec)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"shardgen-bench-load-{spec.Vocab}-{spec.Hidden}-{spec.Heads}-{spec.KvHeads}-{spec.FfnHidden}-{spec.Layers}-{spec.DType}");
        if (!File.Exists(Path.Combine(dir, ShardGen.Checkpoints.Checkpoint.SingleFile)))
            RandomCheckpoint.Write(dir, spec);
        return dir;
    }

    private static LayerSpec[] Declared() =>
    [
        new("Embed", ParallelStrategy.VocabEmbedding, 0, 0, false, Activation.None, WeightLayout.InOut),
        new("Layers", ParallelStrategy.TransformerStack, 0, 0, false, Activation.Silu, WeightLayout.InOut)
        {
            Block = new TransformerSpec(0, 0, 0, NormKind.RmsNorm, true, 0) { Layers = 0, Mlp = MlpKind.Gated, Rotary = true },
        },
        new("FinalNorm", ParallelStrategy.FinalNorm, 0, 0, false, Activation.None, WeightLayout.InOut) { Norm = NormKind.RmsNorm },
        new("Head", ParallelStrategy.LmHead, 0, 0, false, Activation.None, WeightLayout.InOut),
    ];

    private static IEnumerable<WeightKey> Keys(CheckpointWeights weights, int blocks)
    {
        var at = weights.Layers;
        var candidates = new[] { at.Embedding, at.FinalNorm, at.Head }.SelectMany(l => Enum.GetValues<WeightRole>().Select(r => new WeightKey(l, -1, r)))
            .Concat(Enumerable.Range(0, blocks).SelectMany(b => Enum.GetValues<WeightRole>().Select(r => new WeightKey(at.Stack, b, r))));
        return candidates.Where(k => weights.Shape(k) is not null);
    }

    private const int BlockFloats = 1 << 20;

    private static (int Row0, int Rows, int Col0, int Cols, long Elements) Whole((int Rows, int Cols) s) => (0, s.Rows, 0, s.Cols, (long)s.Rows * s.Cols);

    // Megatron's split of each weight: column-parallel outputs, row-parallel inputs, vocabulary rows; norms replicated.
    private static (int Row0, int Rows, int Col0, int Cols, long Elements) Slice(WeightRole role, (int Rows, int Cols) s, int devices, int d)
    {
        switch (role)
        {
            case WeightRole.Query or WeightRole.Key or WeightRole.Value or WeightRole.MlpGate or WeightRole.MlpUp or WeightRole.Head
                or WeightRole.QueryBias or WeightRole.KeyBias or WeightRole.ValueBias or WeightRole.MlpGateBias or WeightRole.MlpUpBias or WeightRole.HeadBias:
                int c0 = EvenRanges.Start(s.Cols, devices, d), c = EvenRanges.Length(s.Cols, devices, d);
                return (0, s.Rows, c0, c, (long)s.Rows * c);
            case WeightRole.AttentionOutput or WeightRole.MlpDown or WeightRole.TokenEmbedding:
                int r0 = EvenRanges.Start(s.Rows, devices, d), r = EvenRanges.Length(s.Rows, devices, d);
                return (r0, r, 0, s.Cols, (long)r * s.Cols);
            default:
                return (0, s.Rows, 0, s.Cols, (long)s.Rows * s.Cols);
        }
    }

    private static void FreshMemory(Device device, List<(int Rows, int Cols)> sizes, float[] zeros)
    {
        // All held at once, as a loaded model holds them: freed pages would be reused hot.
        var buffers = new List<DeviceBuffer>();
        foreach (var (rows, cols) in sizes)
        {
            var buffer = device.Allocate(rows * cols);
            buffers.Add(buffer);
            var all = buffer.AsMatrix(1, rows * cols);
            for (int at = 0; at < all.Cols; at += zeros.Length)
            {
                int n = Math.Min(zeros.Length, all.Cols - at);
                device.Upload(zeros.AsSpan(0, n), n, all.Columns(at, n));
            }
        }
        foreach (var b in buffers) b.Dispose();
    }

    private static void ReadOnce(string file, byte[] buffer)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        while (stream.Read(buffer, 0, buffer.Length) > 0) { }
    }

    // Rows of the slice in blocks of at most 4 MiB, into one reused buffer (the runtime's WeightReader).
    private static void ReadBlocks(CheckpointWeights weights, WeightKey key, (int Row0, int Rows, int Col0, int Cols, long Elements) s, float[] block)
    {
        int rowsPerBlock = Math.Max(1, Math.Min(s.Rows, BlockFloats / s.Cols));
        for (int r = 0; r < s.Rows; r += rowsPerBlock)
        {
            int rows = Math.Min(rowsPerBlock, s.Rows - r);
            weights.Read(key, s.Row0 + r, rows, s.Col0, s.Cols, block.AsSpan(0, rows * s.Cols));
        }
    }
}
