using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using ShardGen.Checkpoints;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Training;
using ShardGen.Training;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// Loading an F32 checkpoint in place (CPU devices on Linux use the file's pages through a private mapping, in the
/// file's orientation) against copying it (<c>copyWeights: true</c>, today's [in, out] buffers): the same logits and
/// the same training steps, the file's bytes untouched by training, no private memory for the weights; BF16 files are
/// copied. Fresh random checkpoints each run.
/// </summary>
public sealed class MappedLoadTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-mapped-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write(ModelFamily family, string modelType, SafetensorsDType dtype, bool? tied, int kvHeads, int vocab = 211, int hidden = 48, int seed = 0) =>
        RandomCheckpoint.Write(Path.Combine(_root, $"{modelType}-{dtype}-{tied}-{kvHeads}-{vocab}"),
            new RandomCheckpointSpec(family, Vocab: vocab, Hidden: hidden, Heads: 4, KvHeads: kvHeads, FfnHidden: 40, Layers: 2)
            { Seed = seed == 0 ? Environment.TickCount : seed, Positions = 32, Tied = tied, ModelType = modelType, DType = dtype });

    private static ILanguageModel Load(ModelFamily family, DeviceMesh mesh, string dir, bool copy) =>
        family == ModelFamily.Llama ? Llama.Load(mesh, dir, copyWeights: copy) : Gpt2.Load(mesh, dir, copyWeights: copy);

    private static float[,] Forward(ILanguageModel model, int[] ids, int[] lengths) =>
        model is Llama llama ? llama.Forward(ids, lengths) : ((Gpt2)model).Forward(ids, lengths);

    [Theory]
    [InlineData(ModelFamily.Llama, "llama", false, 2, 1)]
    [InlineData(ModelFamily.Llama, "llama", true, 2, 4)]      // a KV head shared by two devices; tied head
    [InlineData(ModelFamily.Llama, "qwen2", false, 2, 2)]     // q/k/v biases; a vocabulary no device count divides
    [InlineData(ModelFamily.Gpt2, "gpt2", true, 4, 2)]        // c_attn's q/k/v column ranges, strided
    [InlineData(ModelFamily.Gpt2, "gpt2", false, 4, 4)]       // an untied head: lm_head [vocab, hidden] in place
    public void Mapped_and_copied_loads_give_the_same_logits(ModelFamily family, string modelType, bool tied, int kvHeads, int devices)
    {
        string dir = Write(family, modelType, SafetensorsDType.F32, tied, kvHeads);
        int[] ids = [1, 210, 7, 100, 3, 199, 42, 0, 12];
        int[] lengths = [5, 4];
        using var meshA = DeviceMesh.CreateCpu(devices);
        using var meshB = DeviceMesh.CreateCpu(devices);
        using var mapped = Load(family, meshA, dir, copy: false);
        using var copied = Load(family, meshB, dir, copy: true);
        AssertViewed(LogicalTensors.TrainingOf(mapped), family, expected: OperatingSystem.IsLinux());
        AssertViewed(LogicalTensors.TrainingOf(copied), family, expected: false);

        var a = Forward(mapped, ids, lengths);
        var b = Forward(copied, ids, lengths);
        double max = b.Cast<float>().Max(Math.Abs), worst = a.Cast<float>().Zip(b.Cast<float>(), (x, y) => (double)Math.Abs(x - y)).Max();
        Assert.True(worst <= 1e-5 * max, $"max |Δlogit| {worst:E2} of {max:E2}");
    }

    [Fact]
    public void A_BF16_checkpoint_is_copied()
    {
        string dir = Write(ModelFamily.Llama, "llama", SafetensorsDType.BF16, false, 2);
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Llama.Load(mesh, dir);
        AssertViewed(LogicalTensors.TrainingOf(model), ModelFamily.Llama, expected: false);
    }

    [Theory]
    [InlineData(ModelFamily.Llama, "llama", false, 2, 2)]
    [InlineData(ModelFamily.Llama, "qwen2", true, 1, 4)]      // one KV head on four devices: the shared-KV backward, biases
    [InlineData(ModelFamily.Gpt2, "gpt2", true, 4, 2)]
    public void Training_a_mapped_model_matches_the_copied_one_and_leaves_the_file_unchanged(ModelFamily family, string modelType, bool tied, int kvHeads, int devices)
    {
        string dir = Write(family, modelType, SafetensorsDType.F32, tied, kvHeads, hidden: 32);
        string file = Path.Combine(dir, Checkpoint.SingleFile);
        byte[] before = SHA256.HashData(File.ReadAllBytes(file));
        int[] ids = [1, 210, 7, 100, 3, 199, 42, 0, 12, 5], targets = [210, 7, 100, 3, 199, 42, 0, 12, 5, 9];
        using var meshA = DeviceMesh.CreateCpu(devices);
        using var meshB = DeviceMesh.CreateCpu(devices);
        using var mapped = Load(family, meshA, dir, copy: false);
        using var copied = Load(family, meshB, dir, copy: true);
        double[] losses = new double[2];
        int m = 0;
        foreach (var model in new[] { mapped, copied })
        {
            var training = LogicalTensors.TrainingOf(model);
            // SGD: the update is linear in the gradient (AdamW's m/√v would magnify float noise in near-zero gradients).
            using var sgd = new Sgd(0.05);
            for (int step = 0; step < 3; step++)
            {
                training.ZeroGradients();
                losses[m] = ((ITrainableLanguageModel)model).ForwardBackward(ids, targets, [6, 4]);
                training.ClipGradients(1.0);
                sgd.Step(training);
            }
            m++;
        }
        Assert.True(Math.Abs(losses[0] - losses[1]) <= 1e-5 * Math.Abs(losses[1]), $"loss {losses[0]:R} mapped, {losses[1]:R} copied");
        var a = LogicalTensors.Read(LogicalTensors.TrainingOf(mapped).Parameters);
        var b = LogicalTensors.Read(LogicalTensors.TrainingOf(copied).Parameters);
        Assert.True(a.Keys.ToHashSet().SetEquals(b.Keys));
        foreach (var (key, w) in b)
        {
            double worst = w.Zip(a[key], (x, y) => Math.Abs(x - y)).Max(), scale = w.Max(Math.Abs);
            Assert.True(worst <= 1e-5 * Math.Max(scale, 1e-3), $"{key}: max |Δ| {worst:E2} of {scale:E2} after three steps");
        }
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(file)));
    }

    // Viewed in place: LLaMA's projections and head are [out, in] (transposed slices); GPT-2's q slice is a column range
    // of c_attn [hidden, 3·hidden], rows 3·hidden apart (its untied lm_head is [out, in]). Copied: nothing transposed,
    // q in a fused q|k|v buffer.
    private static void AssertViewed(ModelTraining training, ModelFamily family, bool expected)
    {
        var query = training.Parameters.First(p => p.Key.Role == WeightRole.Query);
        if (family == ModelFamily.Llama)
        {
            Assert.Equal(expected, query.Transposed);
            Assert.Equal(expected, training.Parameters.Any(p => p.Key.Role is WeightRole.MlpDown or WeightRole.Key && p.Transposed));
            if (!expected) Assert.DoesNotContain(training.Parameters, p => p.Transposed);
        }
        else
        {
            // GPT-2's only [out, in] tensor is an untied lm_head.
            Assert.DoesNotContain(training.Parameters, p => p.Transposed && p.Key.Role != WeightRole.Head);
            int hidden = query.Rows;
            Assert.Equal(expected, query.Value.Stride == 3 * hidden);
        }
    }
}
