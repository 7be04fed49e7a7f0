using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen;
using ShardGen.Mpi;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

/// <summary>
/// Case "dp": the job's ranks as D = 2 replicas of TinyLlama on P = ranks/2 devices (MpiDeviceMesh.CreateReplica),
/// 3 steps of the Trainer (SGD, then AdamW) on the issue's batches (replica r takes windows b mod 2 = r), gradients
/// summed across replicas over MPI; the same run on an in-process DataParallelMesh. Each rank prints the per-step
/// losses of both, the largest difference of its gradient slices after the first sum, and its gradient-sum bytes
/// beside 2(D−1)/D of its gradient bytes. Case "dp-odd": CreateReplica(2) on a rank count that D = 2 does not divide must refuse on every rank.
/// </summary>
internal static class DataParallelCase
{
    private const int Replicas = 2, Batch = 4, Sequence = 6, Steps = 3, Seed = 9;
    private const float LearningRate = 0.5f;

    public static void Run()
    {
        var weights = LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), Seed);
        var random = new Random(Seed);
        var tokens = new TokenData("random", Enumerable.Range(0, 200).Select(_ => random.Next(1003)).ToArray());
        var batches = new TrainingBatches(tokens.Count, Batch, Sequence, Replicas);

        foreach (string optimizer in new[] { "sgd", "adamw" })
        {
            using var mpi = MpiDeviceMesh.CreateReplica(Replicas);
            int p = mpi.Size, replica = mpi.ReplicaIndex, device = mpi.LocalRank;
            using var model = TinyLlama.Create(mpi, weights);
            var (losses, gradients) = Train([model], optimizer, tokens, batches, replica, device);

            using var local = DataParallelMesh.CreateCpu(Replicas, p);
            var models = local.Replicas.Select(m => TinyLlama.Create(m, weights)).ToArray();
            var (expected, expectedGradients) = Train(models, optimizer, tokens, batches, replica, device);
            foreach (var m in models) m.Dispose();

            double gradientDiff = gradients.Length == expectedGradients.Length
                ? gradients.Zip(expectedGradients, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max() / Math.Max(1e-30, expectedGradients.Max(Math.Abs))
                : double.NaN;
            long gradientBytes = model.Training.Gradients.Sum(s => (long)s.Rows * s.Cols) * sizeof(float);
            long sent = mpi.GradientTraffic!.BytesSent(replica * p + device);
            long calls = mpi.GradientTraffic.Records.Count;
            string Row(IEnumerable<double> l) => string.Join(",", l.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
            Output.Line($"DP {optimizer} rank={replica * p + device} replica={replica} device={device} p={p} mpi={Row(losses)} inProcess={Row(expected)} " +
                        $"gradientDiff={gradientDiff:E2} sent={sent} gradientBytes={gradientBytes} calls={calls}");
        }
    }

    public static void Odd()
    {
        Refused("DPODD", () => MpiDeviceMesh.CreateReplica(Replicas));
        Refused("DPSIZE", () => MpiDeviceMesh.CreateReplica(1, devicesPerReplica: 2));
    }

    private static void Refused(string label, Func<MpiDeviceMesh> create)
    {
        try
        {
            using var mesh = create();
            Output.Line($"{label} refused=False");
        }
        catch (ArgumentException e)
        {
            Output.Line($"{label} refused=True {e.Message}");
        }
    }

    /// <summary>
    /// <see cref="Steps"/> steps of <see cref="Trainer"/> on the replicas held here (all D in process, this process's
    /// one on MPI, with buckets small enough that every rank has several); returns the losses and, after the first
    /// step, replica <paramref name="replica"/>'s gradient slices on <paramref name="device"/> (summed across replicas).
    /// </summary>
    private static (double[] Losses, double[] Gradients) Train(IReadOnlyList<ITrainableLanguageModel> models, string optimizer,
        TokenData tokens, TrainingBatches batches, int replica, int device)
    {
        using Optimizer o = optimizer == "sgd" ? new Sgd(LearningRate) : new AdamW(LearningRate / 50);
        var trainer = new Trainer(models, o, tokens, batches);
        trainer.Step();
        var gradients = Read(models[models.Count == 1 ? 0 : replica].Training, device);
        while (trainer.NextStep < Steps) trainer.Step();
        return (trainer.Losses.ToArray(), gradients);
    }

    /// <summary>The gradient slices of device <paramref name="device"/>, one after another.</summary>
    private static double[] Read(ModelTraining training, int device) =>
        training.Gradients.Where(s => s.Rank == device).SelectMany(s =>
        {
            var host = new float[s.Rows * s.Cols];
            s.Value.Device.Download(s.Value, host, s.Cols);
            return host.Select(v => (double)v);
        }).ToArray();
}
