using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ShardGen;
using ShardGen.Mpi;
using ShardGen.Tests.Reference;
using ShardGen.Training;
using M = ShardGen.Tests.Models;

/// <summary>
/// Case "float-blocks": a float model of two transformer blocks and a head (TwoBlocks; TwoBlocksSequenceParallel, whose
/// replicated norm and bias gradients are summed at the backward's end) trains on the MPI mesh and on an in-process
/// CPU mesh of as many devices, from the same random weights and inputs (two packed sequences): zero → Backward → every
/// layer's Gradients (gathered over MPI on every rank) → one SGD step → Forward on new inputs. Each rank prints, per
/// model, the largest relative difference (max |mpi − cpu| / max |cpu| of each tensor) of dX, of the gradients and of
/// the stepped Forward, with the gradients' sum of squares (not zero: the comparison means something).
/// </summary>
internal static class FloatBlockCase
{
    private const double LearningRate = 0.05;

    public static void Run(MpiDeviceMesh mesh)
    {
        One(mesh, nameof(M.TwoBlocks), M.TwoBlocks.Weights.Random(41), 41, (m, w) => Ops(M.TwoBlocks.Create(m, w)));
        One(mesh, nameof(M.TwoBlocksSequenceParallel), M.TwoBlocksSequenceParallel.Weights.Random(42), 42,
            (m, w) => Ops(M.TwoBlocksSequenceParallel.Create(m, w)));
    }

    private static void One<TWeights>(MpiDeviceMesh mesh, string name, TWeights weights, int seed, Func<DeviceMesh, TWeights, Members> create)
    {
        var random = new Random(seed);
        int[] lengths = [3 + random.Next(3), 2 + random.Next(4)];
        int tokens = lengths.Sum();
        var x = ReferenceMath.RandomMatrix(random, tokens, 64);
        var dy = ReferenceMath.RandomMatrix(random, tokens, 32);
        var x2 = ReferenceMath.RandomMatrix(random, tokens, 64);

        Result cpuResult;
        using (var cpu = DeviceMesh.CreateCpu(mesh.Size))
        {
            var local = create(cpu, weights);
            using (local.Model) cpuResult = Train(local, x, dy, x2, lengths);
        }
        var onMpi = create(mesh, weights);
        Result mpiResult;
        using (onMpi.Model) mpiResult = Train(onMpi, x, dy, x2, lengths);

        double grads = 0, squares = 0;
        for (int i = 0; i < cpuResult.Gradients.Count; i++)
        {
            grads = Math.Max(grads, Relative(mpiResult.Gradients[i], cpuResult.Gradients[i]));
            squares += cpuResult.Gradients[i].Sum(v => (double)v * v);
        }
        Output.Line($"FLOATBLOCKS model={name} rank={mesh.LocalRank} tensors={cpuResult.Gradients.Count}/{mpiResult.Gradients.Count} " +
            $"dx={Text(Relative(Flat(mpiResult.Dx), Flat(cpuResult.Dx)))} grads={Text(grads)} " +
            $"forward={Text(Relative(Flat(mpiResult.Stepped), Flat(cpuResult.Stepped)))} squares={Text(squares)}");
    }

    /// <summary>The generated members the case calls, for either model.</summary>
    private sealed record Members(IShardedModel Model, Func<float[,], float[,], int[]?, float[,]> Backward, Func<int, LayerWeights> Gradients,
        ModelTraining Training, Func<float[,], int[]?, float[,]> Forward);

    private static Members Ops(IShardedModel model) => model switch
    {
        M.TwoBlocks m => new(m, m.Backward, m.Gradients, m.Training, m.Forward),
        M.TwoBlocksSequenceParallel m => new(m, m.Backward, m.Gradients, m.Training, m.Forward),
        _ => throw new ArgumentException(model.GetType().Name),
    };

    private sealed record Result(float[,] Dx, List<float[]> Gradients, float[,] Stepped);

    private static Result Train(Members m, float[,] x, float[,] dy, float[,] x2, int[] lengths)
    {
        m.Training.ZeroGradients();
        var dx = m.Backward(x, dy, lengths);
        var gradients = new List<float[]>();
        for (int layer = 0; layer < 3; layer++) gradients.AddRange(Tensors(m.Gradients(layer)));
        using (var sgd = new Sgd(LearningRate)) sgd.Step(m.Training);
        return new Result(dx, gradients, m.Forward(x2, lengths));
    }

    /// <summary>Every tensor of a layer's gradients, flattened, in a fixed order (absent shifts and biases skipped).</summary>
    private static IEnumerable<float[]> Tensors(LayerWeights g)
    {
        IEnumerable<float[]?> all = g switch
        {
            TransformerBlockWeights b => [b.AttentionNormScale, b.AttentionNormShift, Flat(b.Qkv.Weight), b.Qkv.Bias, Flat(b.Out.Weight), b.Out.Bias,
                b.MlpNormScale, b.MlpNormShift, Flat(b.Up.Weight), b.Up.Bias, Flat(b.Down.Weight), b.Down.Bias],
            LinearWeights l => [Flat(l.Weight), l.Bias],
            _ => throw new InvalidOperationException($"Unexpected gradients {g.GetType().Name}."),
        };
        return all.Where(t => t is not null)!;
    }

    private static float[] Flat(float[,] m) => m.Cast<float>().ToArray();

    private static double Relative(float[] actual, float[] expected)
    {
        if (actual.Length != expected.Length) return double.PositiveInfinity;
        double largest = expected.Max(v => Math.Abs((double)v)), worst = 0;
        for (int i = 0; i < actual.Length; i++) worst = Math.Max(worst, Math.Abs((double)actual[i] - expected[i]));
        return largest > 0 ? worst / largest : worst;
    }

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
