using System;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// A steady-state training pass allocates no device memory: what the forward keeps for the backward, the gradients of
/// activations, the loss statistics and the gradient partials that are summed over devices (replicated parameters under
/// sequence parallelism, KV heads shared by devices, bias slices after a reduce-scatter, SUMMA's bias blocks) all come
/// from the model's pool. Device.BuffersAllocated counts every buffer ever made, so passes 2 and 3 must leave it as pass
/// 1 did. The partials are zeroed on the device: pooled buffers hold the last pass's values, so after zeroing the twins
/// pass 3's gradients must equal pass 1's on the same batch (stale partials would add the earlier pass in).
/// </summary>
public sealed class TrainingPassAllocationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-pass-alloc-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("llama", 2, 2)]      // KV heads = P: nothing shared
    [InlineData("llama", 4, 2)]      // KV < P: each KV head's k|v partials summed over 2 devices
    [InlineData("qwen2", 4, 1)]      // KV < P with q/k/v biases: the partials' bias row is zeroed
    [InlineData("llama-sp", 2, 2)]   // sequence parallel: the norms' partial gradients
    [InlineData("llama-sp", 4, 2)]   // sequence parallel and shared KV heads
    [InlineData("gpt2-sp", 4, 4)]    // sequence parallel: norms' scale and shift, biases, the position table
    public void LanguageModelPassesAfterTheFirstAllocateNothing(string model, int devices, int kvHeads)
    {
        bool gpt2 = model.StartsWith("gpt2", StringComparison.Ordinal), sequenceParallel = model.EndsWith("-sp", StringComparison.Ordinal);
        string? modelType = model == "qwen2" ? "qwen2" : null;
        string dir = Path.Combine(_root, $"{model}-{devices}");
        RandomCheckpoint.Write(dir, new RandomCheckpointSpec(gpt2 ? ModelFamily.Gpt2 : ModelFamily.Llama, Vocab: 101, Hidden: 32, Heads: 4,
            KvHeads: kvHeads, FfnHidden: 40, Layers: 2) { Seed = devices + 10, Positions = 32, ModelType = modelType });
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var trainable = TrainableModels.Load(mesh, gpt2 ? "gpt2" : "llama", sequenceParallel, dir);
        var rng = new Random(devices * 7 + kvHeads);
        int[] lengths = [6, 9];
        var inputs = Enumerable.Range(0, lengths.Sum()).Select(_ => rng.Next(101)).ToArray();
        var targets = Enumerable.Range(0, lengths.Sum()).Select(_ => rng.Next(101)).ToArray();
        AssertSteadyState(mesh, trainable.Training, () => trainable.ForwardBackward(inputs, targets, lengths));
    }

    [Theory]
    [InlineData("Mlp", 2)]
    [InlineData("Mlp", 4)]
    [InlineData("ThreeLayer", 4)]   // a bias after a reduce-scatter: whole-length partials all-reduced
    [InlineData("Summa", 4)]        // SUMMA's bias blocks summed over grid columns
    [InlineData("Mixed", 4)]        // column → SUMMA → row: the grid transitions' backward
    [InlineData("RowIntoGrid", 9)]  // row → reduce-scatter → SUMMA → gathered blocks → column, on 3×3
    [InlineData("MqaBlock", 4)]     // a float model's block: one KV head shared by 4 devices, its k|v partials summed
    [InlineData("TwoBlocksSequenceParallel", 4)]  // blocks on token shards: the norms' and biases' partials, then a head
    public void FloatModelBackwardsAfterTheFirstAllocateNothing(string name, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        var rng = new Random(devices + name.Length);
        (Action pass, ModelTraining training, IDisposable model) = name switch
        {
            "Mlp" => Float(Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(devices)), m => m.Backward, m => m.Training, rng, 64, 64),
            "ThreeLayer" => Float(Models.ThreeLayer.Create(mesh, Models.ThreeLayer.Weights.Random(devices)), m => m.Backward, m => m.Training, rng, 48, 24),
            "Summa" => Float(Models.Summa.Create(mesh, Models.Summa.Weights.Random(devices)), m => m.Backward, m => m.Training, rng, 48, 72),
            "Mixed" => Float(Models.Mixed.Create(mesh, Models.Mixed.Weights.Random(devices)), m => m.Backward, m => m.Training, rng, 36, 36),
            "MqaBlock" => Float(Models.MqaBlock.Create(mesh, Models.MqaBlock.Weights.Random(devices)), m => m.Backward, m => m.Training, rng, 64, 64),
            "TwoBlocksSequenceParallel" => Float(Models.TwoBlocksSequenceParallel.Create(mesh, Models.TwoBlocksSequenceParallel.Weights.Random(devices)),
                m => m.Backward, m => m.Training, rng, 64, 32),
            _ => Float(Models.RowIntoGrid.Create(mesh, Models.RowIntoGrid.Weights.Random(devices)), m => m.Backward, m => m.Training, rng, 36, 36),
        };
        using (model) AssertSteadyState(mesh, training, pass);
    }

    private static (Action, ModelTraining, IDisposable) Float<TModel>(TModel model, Func<TModel, Func<float[,], float[,], float[,]>> backward,
        Func<TModel, ModelTraining> training, Random rng, int inFeatures, int outFeatures) where TModel : IDisposable
    {
        var x = ReferenceMath.RandomMatrix(rng, 7, inFeatures);
        var dY = ReferenceMath.RandomMatrix(rng, 7, outFeatures);
        var run = backward(model);
        return (() => run(x, dY), training(model), model);
    }

    /// <summary>Pass 1 fills the pool; passes 2 and 3 make no buffer on any device and give pass 1's gradients.</summary>
    private static void AssertSteadyState(DeviceMesh mesh, ModelTraining training, Action pass)
    {
        training.ZeroGradients();
        pass();
        var first = Download(training);
        var made = mesh.Devices.Select(d => d.BuffersAllocated).ToArray();
        for (int i = 2; i <= 3; i++)
        {
            training.ZeroGradients();
            pass();
            for (int rank = 0; rank < mesh.Size; rank++)
                Assert.True(made[rank] == mesh.Devices[rank].BuffersAllocated,
                    $"pass {i} made {mesh.Devices[rank].BuffersAllocated - made[rank]} new buffers on device {rank}");
        }
        var third = Download(training);
        for (int s = 0; s < first.Length; s++)
        {
            var slice = training.Gradients[s];
            double scale = Math.Max(1e-6, first[s].Max(v => Math.Abs(v)));
            for (int j = 0; j < first[s].Length; j++)
                Assert.True(Math.Abs(first[s][j] - third[s][j]) <= 1e-5 * scale,
                    $"gradient {slice.Key} on device {slice.Rank}, element {j}: pass 1 {first[s][j]}, pass 3 {third[s][j]}");
        }
    }

    private static float[][] Download(ModelTraining training) => training.Gradients.Select(g =>
    {
        var host = new float[g.Rows * g.Cols];
        g.Download(host);
        return host;
    }).ToArray();
}
