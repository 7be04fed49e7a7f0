using System;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Planning;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// A key/value head shared by several devices (grouped-query attention, more devices than KV heads) takes a twin's q
/// and k|v column sections every backward step; after the first step those are the same objects, so steps 2–5 make
/// no managed object on the host thread (the step's own thread: the device workers are not measured). A float model's
/// whole Backward makes only the dX array it returns; a language model's q|k|v projection backward nothing. Step 5's
/// gradients equal step 1's on the same batch: the kept sections still point into the twin. Run alone (the allocation
/// collection), so no other test's first calls (type loads, lazy statics) land on this thread mid-measurement.
/// </summary>
[Collection(nameof(Runtime.AllocationMeasurements))]
public sealed class SharedKvAllocationTests : IDisposable
{
    // Bytes a step may make beyond the array it returns: less than one column section (~280 B; two per device and block,
    // over 2 KiB a step before the sections were kept).
    private const long Slack = 256;

    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-kv-alloc-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void AFloatModelsSharedKvBackwardMakesOnlyItsOutputAfterTheFirstStep()
    {
        // MqaBlock: one KV head on 4 devices, its k|v gradient summed over all of them.
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = Models.MqaBlock.Create(mesh, Models.MqaBlock.Weights.Random(21));
        var rng = new Random(22);
        var x = ReferenceMath.RandomMatrix(rng, 7, 64);
        var dY = ReferenceMath.RandomMatrix(rng, 7, 64);
        AssertSteadyState(model.Training, () => Made(() => model.Backward(x, dY)), Allocation.FloatMatrixBytes(7, 64));
    }

    [Theory]
    [InlineData(false)]   // TinyLlama from host weights: one fused q|k|v part per device
    [InlineData(true)]    // a LLaMA checkpoint viewed in place: its q, k and v tensors, one part each
    public void ALanguageModelsSharedKvProjectionBackwardMakesNothingAfterTheFirstStep(bool checkpoint)
    {
        // 2 KV heads on 4 devices: each KV head's k|v gradient summed over 2 of them. A language model's whole
        // ForwardBackward makes the CPU devices' copies of the id arrays they queue (ForwardBackwardAllocationTests), so this
        // measures the q|k|v projection's backward alone (every step the same hand-written pass, so the pass's scratch
        // objects are reused in call order as a generated pass's are).
        using var mesh = DeviceMesh.CreateCpu(4);
        ITrainableLanguageModel model;
        if (checkpoint)
        {
            RandomCheckpoint.Write(_root, new RandomCheckpointSpec(ModelFamily.Llama, Vocab: 101, Hidden: 32, Heads: 4,
                KvHeads: 2, FfnHidden: 40, Layers: 2) { Seed = 23, Positions = 32 });
            model = TrainableModels.Load(mesh, "llama", false, _root);
        }
        else model = TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 23));
        using var _ = model;
        var core = model.Training.Core;
        var layers = core.Plan.Layers;
        int embed = Enumerable.Range(0, layers.Count).First(i => layers[i] is Embedding);
        var block = core.Stack(Enumerable.Range(0, layers.Count).First(i => layers[i] is TransformerStack))[0];
        Assert.True(block.Info.KvHeads < mesh.Size, "the KV heads are shared");
        var rng = new Random(24);
        int[] lengths = [6, 5];
        var ids = Enumerable.Range(0, 11).Select(_ => rng.Next(model.Vocab)).ToArray();
        var targets = Enumerable.Range(0, 11).Select(_ => rng.Next(model.Vocab)).ToArray();

        // Each step: the block's input, its q|k|v (standing in for their gradient), then the projection's backward alone.
        AssertSteadyState(model.Training, () =>
        {
            using var pass = core.BeginTraining(ids, targets, lengths, 0);
            var x = pass.AttentionNorm(pass.AllReduce(pass.TokenEmbedding(core.Embedding(embed))), block);
            var qkv = pass.QkvProjection(x, block);
            return Made(() => pass.QkvProjectionBackward(qkv, x, block));
        }, 0);
    }

    /// <summary>Bytes <paramref name="action"/> allocates on this thread.</summary>
    private static long Made(Action action)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    /// <summary>
    /// Step 1 makes what it keeps; then the least that steps 2–5 measured (<paramref name="step"/> returns it) is at
    /// most <paramref name="output"/> + Slack, and step 5's gradients equal step 1's. The least, because some bytes are
    /// one step's alone: a device queue reaching a new high-water mark under load, the mesh's traffic log (a list of up
    /// to 16K records) doubling. What every step makes, as the sections did, shows in each.
    /// </summary>
    private static void AssertSteadyState(ModelTraining training, Func<long> step, long output)
    {
        training.ZeroGradients();
        step();
        var first = Download(training);
        var made = new long[4];
        for (int i = 0; i < made.Length; i++)
        {
            training.ZeroGradients();
            made[i] = step();
        }
        Assert.True(made.Min() <= output + Slack,
            $"steps 2–5 allocated {string.Join(", ", made.Select(b => b.ToString("N0")))} B on their thread; the output is {output:N0} B and at most {Slack} B more is allowed");
        AssertSame(first, Download(training), training, "step 1", "step 5");
    }

    private static void AssertSame(float[][] expected, float[][] actual, ModelTraining training, string was, string now)
    {
        for (int s = 0; s < expected.Length; s++)
        {
            double scale = Math.Max(1e-6, expected[s].Max(v => Math.Abs(v)));
            for (int j = 0; j < expected[s].Length; j++)
                Assert.True(Math.Abs(expected[s][j] - actual[s][j]) <= 1e-5 * scale,
                    $"gradient {training.Gradients[s].Key} on device {training.Gradients[s].Rank}, element {j}: {was} {expected[s][j]}, {now} {actual[s][j]}");
        }
    }

    private static float[][] Download(ModelTraining training) => training.Gradients.Select(g =>
    {
        var host = new float[g.Rows * g.Cols];
        g.Download(host);
        return host;
    }).ToArray();
}
