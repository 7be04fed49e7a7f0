using System;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Runtime;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// Loading an F32 checkpoint in place takes no private memory for its weights; copying it does. RssAnon is this whole
/// process's, so the test runs in the collection that nothing else runs beside (other tests freeing or allocating
/// meanwhile moved the figure by tens of MB).
/// </summary>
[Collection(nameof(AllocationMeasurements))]
public sealed class MappedLoadMemoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-mapped-memory-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Loading_in_place_takes_no_private_memory_for_the_weights()
    {
        if (!OperatingSystem.IsLinux())
        {
            Console.WriteLine("skipped: RssAnon is read from /proc/self/status (Linux only)");
            return;
        }
        // 32 MB of embedding table, 32 MB of head, ~2 MB of blocks.
        string dir = RandomCheckpoint.Write(Path.Combine(_root, "llama"),
            new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 16000, Hidden: 512, Heads: 4, KvHeads: 2, FfnHidden: 40, Layers: 2)
            { Seed = Environment.TickCount, Positions = 32, Tied = false, ModelType = "llama", DType = SafetensorsDType.F32 });
        long weights = new FileInfo(Path.Combine(dir, Checkpoint.SingleFile)).Length;
        using var mesh = DeviceMesh.CreateCpu(1);
        foreach (bool copy in new[] { true, false })
        {
            long before = PrivateBytes();
            using var model = Llama.Load(mesh, dir, copyWeights: copy);
            long grown = PrivateBytes() - before;
            if (copy) Assert.True(grown >= 0.8 * weights, $"copied: private memory grew {grown / 1e6:F1} MB for {weights / 1e6:F1} MB of weights (the measure sees copies)");
            else Assert.True(grown <= 0.1 * weights, $"in place: private memory grew {grown / 1e6:F1} MB for {weights / 1e6:F1} MB of weights");
        }
    }

    // RssAnon: this process's private (anonymous) resident memory, after a full collection.
    private static long PrivateBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

}
