using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen;
using ShardGen.Mpi;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

/// <summary>
/// Case "dp": the job's ranks as D = 2 replicas of TinyLlama on P = ranks/2 devices (MpiDeviceMesh.CreateReplica),
/// 3 SGD steps on the issue's batches (replica r takes windows b mod 2 = r), gradients summed across replicas over MPI;
/// the same run on an in-process DataParallelMesh. Each rank prints its replica's per-step loss sums from both, the
/// largest difference of its gradient slices after the first sum, and its gradient-sum bytes beside 2(D−1)/D of its
/// gradient bytes. Case "dp-odd": CreateReplica(2) on a rank count that D = 2 does not divide must refuse on every rank.
/// </summary>
internal static class DataParallelCase
{
    private const int Replicas = 2, Batch = 4, Sequence = 6, Steps = 3, Seed = 9;
    private const float LearningRate = 0.5f;
    private const int BucketBytes = 4096; // several buckets per rank, and slices reduced where they lie

    public static void Run()
    {
        var weights = LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), Seed);
        var random = new Random(Seed);
        var tokens = new TokenData("random", Enumerable.Range(0, 200).Select(_ => random.Next(1003)).ToArray());

        using var mpi = MpiDeviceMesh.CreateReplica(Replicas);
        int p = mpi.Size, replica = mpi.ReplicaIndex, device = mpi.LocalRank;
        using var model = TinyLlama.Create(mpi, weights);
        var batches = new TrainingBatches(tokens.Count, Batch, Sequence, Replicas);
        double[] gradientsAfterFirstSum = Array.Empty<double>();
        var losses = Train([model], [replica], batches, tokens, t => ReplicaGroup.SumGradients(t, BucketBytes),
            step => { if (step == 0) gradientsAfterFirstSum = Read(model.Training, device); });

        using var local = DataParallelMesh.CreateCpu(Replicas, p);
        var models = local.Replicas.Select(m => TinyLlama.Create(m, weights)).ToArray();
        double[] expectedGradients = Array.Empty<double>();
        var expected = Train(models, Enumerable.Range(0, Replicas).ToArray(), batches, tokens, t => local.SumGradients(t, BucketBytes),
            step => { if (step == 0) expectedGradients = Read(models[replica].Training, device); });
        foreach (var m in models) m.Dispose();

        double gradientDiff = gradientsAfterFirstSum.Length == expectedGradients.Length
            ? gradientsAfterFirstSum.Zip(expectedGradients, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max() / Math.Max(1e-30, expectedGradients.Max(Math.Abs))
            : double.NaN;
        long gradientBytes = model.Training.Gradients.Sum(s => (long)s.Rows * s.Cols) * sizeof(float);
        long sent = mpi.GradientTraffic!.BytesSent(replica * p + device);
        long calls = mpi.GradientTraffic.Records.Count;
        string Row(double[,] l, int r) => string.Join(",", Enumerable.Range(0, Steps).Select(s => l[s, r].ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        Output.Line($"DP rank={replica * p + device} replica={replica} device={device} p={p} mpi={Row(losses, 0)} inProcess={Row(expected, replica)} " +
                    $"gradientDiff={gradientDiff:E2} sent={sent} gradientBytes={gradientBytes} calls={calls}");
    }

    public static void Odd()
    {
        try
        {
            using var mesh = MpiDeviceMesh.CreateReplica(Replicas);
            Output.Line("DPODD refused=False");
        }
        catch (ArgumentException e)
        {
            Output.Line($"DPODD refused=True {e.Message}");
        }
    }

    /// <summary>
    /// Steps of SGD on the replicas held here (their indices among the D): each one's forward–backward on its windows,
    /// scaled for the global mean; the sum across replicas; w ← w − lr·g on every slice; gradients zeroed. Returns each
    /// step's loss sum per replica held here.
    /// </summary>
    private static double[,] Train(IReadOnlyList<ITrainableLanguageModel> models, int[] indices, TrainingBatches batches, TokenData tokens,
        Action<IReadOnlyList<ModelTraining>> sum, Action<int> afterSum)
    {
        var losses = new double[Steps, Replicas];
        int n = batches.WindowsPerReplica * Sequence;
        var lengths = Enumerable.Repeat(Sequence, batches.WindowsPerReplica).ToArray();
        for (int step = 0; step < Steps; step++)
        {
            for (int i = 0; i < models.Count; i++)
            {
                var (x, y) = (new int[n], new int[n]);
                batches.Fill(tokens, step, indices[i], x, y);
                losses[step, i] = models[i].ForwardBackward(x, y, lengths, 1f / (Batch * Sequence));
            }
            sum(models.Select(m => m.Training).ToArray());
            afterSum(step);
            foreach (var m in models)
            {
                var t = m.Training;
                for (int s = 0; s < t.Gradients.Count; s++)
                {
                    var g = t.Gradients[s].Value;
                    g.Device.SgdStep(t.Parameters[s].Value, g, LearningRate);
                    g.Device.Scale(g, 0f);
                }
                m.Mesh().Synchronize();
            }
        }
        return losses;
    }

    private static DeviceMesh Mesh(this ITrainableLanguageModel model) => model.Training.Core.Mesh;

    /// <summary>The gradient slices of device <paramref name="device"/>, one after another.</summary>
    private static double[] Read(ModelTraining training, int device) =>
        training.Gradients.Where(s => s.Rank == device).SelectMany(s =>
        {
            var host = new float[s.Rows * s.Cols];
            s.Value.Device.Download(s.Value, host, s.Cols);
            return host.Select(v => (double)v);
        }).ToArray();
}
