using System;
using System.IO;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// The Trainer's own rules, without the reference: a NaN loss stops before the optimizer steps and names the step;
/// data the model cannot read and batches that do not fit the replicas fail at construction; the same steps on 1, 2
/// and 4 devices give the same losses.
/// </summary>
public sealed class TrainerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("shardgen-trainer-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Checkpoint(int seed) =>
        RandomCheckpoint.Write(Path.Combine(_root, $"ckpt{seed}"), new RandomCheckpointSpec(ModelFamily.Llama, 103, 32, 4, 4, 44, 2) { Seed = seed, Positions = 32 });

    private static TokenData Tokens(int count, int seed)
    {
        var random = new Random(seed);
        return new TokenData("random ids", Enumerable.Range(0, count).Select(_ => random.Next(103)).ToArray());
    }

    [Fact]
    public void NaNLoss_NamesTheStep_AndTheOptimizerDoesNotStep()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Llama.Load(mesh, Checkpoint(1));
        using var sgd = new Sgd(0.1);
        var data = Tokens(300, 2);
        var trainer = new Trainer([model], sgd, data, new TrainingBatches(data.Count, 2, 8));
        trainer.Step();
        trainer.Step();
        // A NaN in a norm scale poisons every later logit.
        var scale = model.Training.Parameters.First(p => p.Key.Role == WeightRole.FinalNormScale);
        var host = new float[scale.Rows * scale.Cols];
        scale.Download(host);
        host[3] = float.NaN;
        foreach (var replica in model.Training.Parameters.Where(p => p.SameRegion(scale))) replica.Upload(host);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Step());
        Assert.Equal(2, e.Step);
        Assert.StartsWith("The loss became NaN at step 2", e.Message);
        Assert.Equal(2, sgd.Steps);
        Assert.Equal(2, trainer.Losses.Count);
    }

    [Fact]
    public void BadData_AndMismatchedReplicas_FailAtConstruction()
    {
        using var mesh = DeviceMesh.CreateCpu(1);
        using var model = Llama.Load(mesh, Checkpoint(3));
        using var sgd = new Sgd(0.1);
        var ids = Tokens(100, 4).Ids;
        ids[57] = 103;
        var bad = new TokenData("bad.npy", ids);
        var e = Assert.Throws<TrainingDataException>(() => new Trainer([model], sgd, bad, new TrainingBatches(bad.Count, 2, 8)));
        Assert.Contains("token id 103 at position 57", e.Message);

        var shortData = Tokens(8, 5);
        Assert.Contains("fewer than --seq + 1 = 9", Assert.Throws<TrainingDataException>(() => new Trainer([model], sgd, shortData, new TrainingBatches(100, 2, 8))).Message);
        var data = Tokens(100, 6);
        Assert.Contains("2 replicas", Assert.Throws<ArgumentException>(() => new Trainer([model], sgd, data, new TrainingBatches(data.Count, 2, 8, replicas: 2))).Message);
        Assert.Contains("its own mesh", Assert.Throws<ArgumentException>(() => new Trainer([model, model], sgd, data, new TrainingBatches(data.Count, 2, 8, replicas: 2))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer([model], sgd, data, new TrainingBatches(data.Count, 2, 8), clipNorm: 0));
    }

    [Fact]
    public void LossesAreTheSame_OnOneTwoAndFourDevices()
    {
        string checkpoint = Checkpoint(7);
        var data = Tokens(400, 8);
        var runs = new[] { 1, 2, 4 }.Select(devices =>
        {
            using var mesh = DeviceMesh.CreateCpu(devices);
            using var model = Llama.Load(mesh, checkpoint);
            using var adamw = new AdamW(0.01);
            var trainer = new Trainer([model], adamw, data, new TrainingBatches(data.Count, 3, 10), clipNorm: 1.0);
            return Enumerable.Range(0, 4).Select(_ => trainer.Step()).ToArray();
        }).ToArray();
        foreach (var run in runs[1..])
            for (int s = 0; s < run.Length; s++)
                Assert.True(Math.Abs(run[s] - runs[0][s]) <= 1e-5 * runs[0][s], $"step {s}: {run[s]:R} vs {runs[0][s]:R}");
    }
}
