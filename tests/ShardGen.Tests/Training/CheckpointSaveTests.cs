using System;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Tests.LanguageModel;
using ShardGen.Tests.Reference;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// ModelTraining.Save: an untrained model saves the file it was loaded from bit for bit (every family and device
/// count: names, [out, in] transposes, GPT-2's fused c_attn, a tied head written once); a model changed by an
/// optimizer step at P = 4 saves a checkpoint that loads at P = 2 and 1 with the same weights and logits, saves again
/// byte-identical, and gives PyTorch the same logits; a model created from weights saves a config.json its family's
/// class loads; a folder that cannot be written fails before anything is written.
/// </summary>
public sealed class CheckpointSaveTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-save-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(ModelFamily.Llama, "llama", false, 1)]
    [InlineData(ModelFamily.Llama, "llama", false, 4)]
    [InlineData(ModelFamily.Llama, "llama", true, 2)]
    [InlineData(ModelFamily.Llama, "qwen2", false, 2)]
    [InlineData(ModelFamily.Gpt2, "gpt2", true, 2)]
    [InlineData(ModelFamily.Gpt2, "gpt2", true, 4)]
    public void Untrained_SavesTheLoadedFiles_BitForBit(ModelFamily family, string modelType, bool tied, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = OptimizerTests.LoadModel(_root, family, devices, mesh, seed: 11, tied, modelType);
        string loaded = Path.Combine(_root, $"{family}-11-{tied}-{modelType}");
        string saved = Path.Combine(_root, "saved");
        LogicalTensors.TrainingOf(model).Save(saved);
        Assert.Equal(File.ReadAllBytes(Path.Combine(loaded, Checkpoint.SingleFile)), File.ReadAllBytes(Path.Combine(saved, Checkpoint.SingleFile)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(loaded, Checkpoint.ConfigFile)), File.ReadAllBytes(Path.Combine(saved, Checkpoint.ConfigFile)));
        Assert.Equal([Checkpoint.ConfigFile, Checkpoint.SingleFile], Directory.GetFiles(saved).Select(Path.GetFileName).Order());   // no temporary left
    }

    [Theory]
    [InlineData(ModelFamily.Llama)]
    [InlineData(ModelFamily.Gpt2)]
    public void StepAtFourDevices_LoadsAtTwoAndOne_WithTheSameWeightsAndLogits(ModelFamily family)
    {
        int[] ids = [5, 17, 102, 0, 64, 33, 7, 90, 1];
        string first = Path.Combine(_root, "p4"), second = Path.Combine(_root, "p2");
        float[,] logits4;
        System.Collections.Generic.Dictionary<WeightKey, double[]> weights4;
        using (var mesh = DeviceMesh.CreateCpu(4))
        using (var model = OptimizerTests.LoadModel(_root, family, 4, mesh, seed: 12))
        {
            var training = LogicalTensors.TrainingOf(model);
            var w0 = LogicalTensors.Read(training.Parameters);
            var g = LogicalTensors.Random(training.Gradients, seed: 13, scale: 1);
            LogicalTensors.Write(training.Gradients, g);
            using var sgd = new Sgd(0.02);
            sgd.Step(training);
            weights4 = LogicalTensors.Read(training.Parameters);
            Assert.Contains(weights4, p => !p.Value.SequenceEqual(w0[p.Key]));
            logits4 = Forward(model, ids);
            training.Save(first);
        }
        foreach (int devices in new[] { 2, 1 })
        {
            using var mesh = DeviceMesh.CreateCpu(devices);
            using ILanguageModel model = family == ModelFamily.Llama ? Llama.Load(mesh, first) : Gpt2.Load(mesh, first);
            var training = LogicalTensors.TrainingOf(model);
            var weights = LogicalTensors.Read(training.Parameters);
            Assert.True(weights4.Keys.ToHashSet().SetEquals(weights.Keys), "the same tensors");
            foreach (var (key, w) in weights4) Assert.True(w.SequenceEqual(weights[key]), $"{key} differs after save at 4 and load at {devices}");
            var logits = Forward(model, ids);
            double max = logits4.Cast<float>().Max(Math.Abs), error = logits4.Cast<float>().Zip(logits.Cast<float>(), (a, b) => (double)Math.Abs(a - b)).Max();
            Assert.True(error <= 1e-5 * max, $"{devices} devices: max |Δlogit| {error:E2} of {max:E2}");
            if (devices == 2)
            {
                training.Save(second);
                Assert.Equal(File.ReadAllBytes(Path.Combine(first, Checkpoint.SingleFile)), File.ReadAllBytes(Path.Combine(second, Checkpoint.SingleFile)));
            }
        }
    }

    [TorchTheory]
    [InlineData(ModelFamily.Llama, 4)]
    [InlineData(ModelFamily.Gpt2, 2)]
    public void SavedCheckpoint_GivesPyTorchOurLogits(ModelFamily family, int devices)
    {
        int[] ids = [3, 1, 4, 1, 5, 9, 2, 6, 100];
        string saved = Path.Combine(_root, "saved");
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = OptimizerTests.LoadModel(_root, family, devices, mesh, seed: 14);
        var training = LogicalTensors.TrainingOf(model);
        LogicalTensors.Write(training.Gradients, LogicalTensors.Random(training.Gradients, seed: 15, scale: 1));
        using var adamw = new AdamW(0.01);
        adamw.Step(training);
        training.Save(saved);
        double error = ReferenceMath.RelativeError(Forward(model, ids), TorchReference.Logits(saved, ids));
        Assert.True(error < 1e-4, $"relative error {error:E2} against PyTorch on the saved checkpoint");
    }

    [Theory]
    [InlineData("gpt2", 2)]
    [InlineData("llama", 4)]
    public void CreatedModel_SavesAConfigItsFamilyLoads(string family, int devices)
    {
        int[] ids = [1, 2, 3, 500, 1002, 7];
        string saved = Path.Combine(_root, "created");
        using var mesh = DeviceMesh.CreateCpu(devices);
        float[,] before;
        if (family == "gpt2")
        {
            using var created = TinyGpt2.Create(mesh, LanguageModelReference.RandomWeights(TinyGpt2.PlanFor(1), seed: 16));
            before = created.Forward(ids);
            LogicalTensors.TrainingOf(created).Save(saved);
        }
        else
        {
            using var created = TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), seed: 17));
            before = created.Forward(ids);
            LogicalTensors.TrainingOf(created).Save(saved);
        }
        var config = CheckpointConfig.Load(Path.Combine(saved, Checkpoint.ConfigFile));
        Assert.Equal((family, 1003, 48, 2), (config.ModelType, config.Vocab, config.Hidden, config.Layers));
        // Copied: the created model's [in, out] layout, so the same weights on the same device count give the same sums.
        using ILanguageModel loaded = family == "gpt2" ? Gpt2.Load(mesh, saved, copyWeights: true) : Llama.Load(mesh, saved, copyWeights: true);
        Assert.Equal(before, Forward(loaded, ids));
    }

    [Fact]
    public void UnwritableFolder_FailsBeforeWriting()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = OptimizerTests.LoadModel(_root, ModelFamily.Llama, 2, mesh, seed: 18);
        var training = LogicalTensors.TrainingOf(model);
        string file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "");
        var e = Assert.Throws<IOException>(() => training.Save(file));
        Assert.StartsWith($"Cannot save into {file}: it is a file, not a folder", e.Message);
        e = Assert.Throws<IOException>(() => training.Save(Path.Combine(file, "below")));
        Assert.StartsWith($"Cannot save into {Path.Combine(file, "below")}: ", e.Message);

        string sharded = Path.Combine(_root, "sharded");
        RandomCheckpoint.Write(sharded, new RandomCheckpointSpec(ModelFamily.Llama, 103, 24, 4, 2, 44, 2) { Shards = 2 });
        var before = Directory.GetFiles(sharded).Select(f => (f, File.GetLastWriteTimeUtc(f))).ToArray();
        e = Assert.Throws<IOException>(() => training.Save(sharded));
        Assert.Contains(Checkpoint.IndexFile, e.Message);
        Assert.Equal(before, Directory.GetFiles(sharded).Select(f => (f, File.GetLastWriteTimeUtc(f))).ToArray());
    }

    private static float[,] Forward(ILanguageModel model, int[] ids) => model.Forward(ids, null);
}
