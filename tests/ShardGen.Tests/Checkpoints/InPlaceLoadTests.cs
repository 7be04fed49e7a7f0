using System;
using System.IO;
using System.Threading;
using ShardGen.Checkpoints;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Runtime;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// Loading straight into CPU device memory: slices of several blocks, read in parallel into a column range of a wider
/// buffer (a fused weight's), equal the stored tensor (transposed where [out, in]) and leave the other columns alone;
/// large buffers come zero-filled from the kernel; the host view waits for queued work; each slice is recorded once.
/// </summary>
public sealed class InPlaceLoadTests : IDisposable
{
    private const int Vocab = 20000, Hidden = 256, Pad = 9;
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-inplace-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(SafetensorsDType.F32, WeightRole.Head, 0, Hidden, 37, 19000)]            // [out, in]: transposed, 4 blocks of 64 rows
    [InlineData(SafetensorsDType.BF16, WeightRole.Head, 64, 150, 0, Vocab)]              // a row range that ends mid-block
    [InlineData(SafetensorsDType.F32, WeightRole.TokenEmbedding, 500, 19000, 11, 200)]   // [rows, hidden] as stored, 5 blocks
    [InlineData(SafetensorsDType.BF16, WeightRole.TokenEmbedding, 0, Vocab, 0, Hidden)]
    public void A_slice_read_in_place_into_a_column_range_is_the_stored_window(SafetensorsDType dtype, WeightRole role, int row0, int rows, int col0, int cols)
    {
        string dir = RandomCheckpoint.Write(Path.Combine(_root, dtype.ToString()),
            new RandomCheckpointSpec(ModelFamily.Llama, Vocab, Hidden, 4, 2, 64, 1) { Seed = Environment.TickCount, DType = dtype, Tied = false });
        using var checkpoint = Checkpoint.Open(dir);
        var weights = new CheckpointWeights(checkpoint, ConfigResolver.Resolve(DeclaredModels.Llama(), checkpoint.Config));
        var layer = role == WeightRole.Head ? weights.Layers.Head : weights.Layers.Embedding;
        var stored = checkpoint.ReadMatrix(role == WeightRole.Head ? "lm_head.weight" : "model.embed_tokens.weight");   // [vocab, hidden]

        using var mesh = DeviceMesh.CreateCpu(1);
        var device = mesh.Devices[0];
        int width = cols + 2 * Pad;
        using var buffer = device.Allocate(rows * width);
        var view = buffer.AsMatrix(rows, width).Columns(Pad, cols);
        var recorder = new SliceRecorder(weights);
        WeightReader.Read(recorder, new WeightKey(layer, -1, role), row0, col0, view);

        var all = new float[rows * width];
        device.Download(buffer.AsMatrix(rows, width), all, width);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < width; c++)
            {
                float expected = c < Pad || c >= Pad + cols ? 0f
                    : role == WeightRole.Head ? stored[col0 + c - Pad, row0 + r] : stored[row0 + r, col0 + c - Pad];
                if (all[r * width + c] != expected)
                    Assert.Fail($"{role} {dtype}: element ({r}, {c}) of the buffer is {all[r * width + c]}, expected {expected}.");
            }
        var slice = Assert.Single(recorder.Slices);
        Assert.Equal((row0, col0, view), (slice.Row0, slice.Col0, slice.Value));
    }

    [Fact]
    public void Large_buffers_are_zero_filled_again_after_reuse()
    {
        using var mesh = DeviceMesh.CreateCpu(1);
        var device = mesh.Devices[0];
        foreach (int floats in new[] { 100, (5 << 20) / 4 + 3 })
            for (int round = 0; round < 3; round++)
            {
                using var buffer = device.Allocate(floats);
                var read = new float[floats];
                device.Download(buffer.AsMatrix(1, floats), read, floats);
                Assert.All(read, v => Assert.Equal(0f, v));
                var junk = new float[floats];
                new Random(round).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(junk.AsSpan()));
                device.Upload(junk, floats, buffer.AsMatrix(1, floats));
            }
    }

    [Fact]
    public void The_host_view_comes_after_queued_work()
    {
        using var mesh = DeviceMesh.CreateCpu(1);
        var device = (CpuDevice)mesh.Devices[0];
        using var buffer = device.Allocate(64);
        using var source = device.Allocate(20);
        var values = new float[20];
        for (int i = 0; i < values.Length; i++) values[i] = Random.Shared.NextSingle() + 1;
        device.Upload(values, 5, source.AsMatrix(4, 5));
        var view = buffer.AsMatrix(8, 8).Slice(2, 3, 4, 5);
        device.Enqueue(() => Thread.Sleep(100));
        device.Copy(source.AsMatrix(4, 5), view);
        Assert.True(device.TryHostView(view, out var elements));
        Assert.Equal(3 * 8 + 5, elements.Length);
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 5; c++)
                Assert.Equal(values[r * 5 + c], elements[r * 8 + c]);
        GC.KeepAlive(buffer);
    }
}
