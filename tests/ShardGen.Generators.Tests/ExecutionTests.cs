using System;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests;

/// <summary>
/// The generated code of transformer-block models runs against the runtime: compiled in memory, created
/// with random weights on CPU meshes of several sizes, it gives the same output on each (sharding does not
/// change the math), and its measured traffic is the plan's prediction.
/// </summary>
public class ExecutionTests
{
    private static Assembly Build(string source)
    {
        var output = GeneratorHarness.Run(source);
        Assert.Empty(output.Diagnostics);
        output.AssertCompilesCleanly();
        using var stream = new MemoryStream();
        var emitted = output.Output.Emit(stream);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));
        return Assembly.Load(stream.ToArray());
    }

    /// <summary>The generated model's Create, on <paramref name="mesh"/> with its Weights.Random(<paramref name="seed"/>).</summary>
    private static IShardedModel Create(Type model, DeviceMesh mesh, int seed)
    {
        var weights = model.GetNestedType("Weights")!.GetMethod("Random")!.Invoke(null, new object[] { seed })!;
        return (IShardedModel)model.GetMethod("Create")!.Invoke(null, new[] { mesh, weights })!;
    }

    private static (float[,] Y, long Bytes, long Predicted) Run(Type model, int devices, float[,] x, int[]? lengths)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var instance = Create(model, mesh, seed: 7);
        var y = lengths is null
            ? instance.Forward(x)
            : (float[,])model.GetMethod("Forward", new[] { typeof(float[,]), typeof(int[]) })!.Invoke(instance, new object?[] { x, lengths })!;
        return (y, instance.LastForward!.TotalBytesSent, instance.Plan.PredictedTotalBytes(x.GetLength(0)));
    }

    private static float[,] Input(int tokens, int features)
    {
        var rng = new Random(3);
        var x = new float[tokens, features];
        for (int t = 0; t < tokens; t++)
            for (int f = 0; f < features; f++) x[t, f] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BlocksGiveTheSameOutputOnEveryMeshSize(bool sequenceParallel)
    {
        var assembly = Build($$"""
            using ShardGen;
            namespace Demo;

            [ShardedModel(SequenceParallel = {{(sequenceParallel ? "true" : "false")}})]
            public partial class Gpt
            {
                [ColumnParallel(32, 64)]
                public partial Linear Embed { get; }

                [TransformerBlock(64, 8, KvHeads = 2, FfnHidden = 128)]
                public partial TransformerBlock Block0 { get; }

                [TransformerBlock(64, 4, Norm = NormKind.RmsNorm, Activation = Activation.Silu, Bias = false, Causal = false)]
                public partial TransformerBlock Block1 { get; }

                [ColumnParallel(64, 16)]
                public partial Linear Head { get; }
            }
            """);
        var model = assembly.GetType("Demo.Gpt")!;
        var x = Input(11, 32);
        int[] lengths = { 4, 7 };
        var (reference, _, _) = Run(model, 1, x, lengths);
        foreach (int p in new[] { 2, 4 })
        {
            var (y, bytes, predicted) = Run(model, p, x, lengths);
            Assert.Equal(predicted, bytes);
            for (int t = 0; t < 11; t++)
                for (int f = 0; f < 16; f++)
                    Assert.True(Math.Abs(y[t, f] - reference[t, f]) <= 1e-4f * (1 + Math.Abs(reference[t, f])),
                        $"P = {p}, token {t}, feature {f}: {y[t, f]} vs {reference[t, f]}");
        }

        // Packed sequences are independent: the second sequence alone gives the same rows.
        var second = new float[7, 32];
        for (int t = 0; t < 7; t++)
            for (int f = 0; f < 32; f++) second[t, f] = x[4 + t, f];
        var (alone, _, _) = Run(model, 2, second, null);
        for (int t = 0; t < 7; t++)
            for (int f = 0; f < 16; f++)
                Assert.True(Math.Abs(alone[t, f] - reference[4 + t, f]) <= 1e-4f * (1 + Math.Abs(reference[4 + t, f])));
    }

    [Fact]
    public void BatchedForwardMatchesPackedSequences()
    {
        var assembly = Build("""
            using ShardGen;
            namespace Demo;

            [ShardedModel(Devices = 2)]
            public partial class Tiny
            {
                [TransformerBlock(16, 2)]
                public partial TransformerBlock Block0 { get; }
            }
            """);
        var model = assembly.GetType("Demo.Tiny")!;
        using var mesh = DeviceMesh.CreateCpu(2);
        using var instance = Create(model, mesh, seed: 1);
        var batch = new float[3, 5, 16];
        var rng = new Random(5);
        for (int b = 0; b < 3; b++) for (int s = 0; s < 5; s++) for (int f = 0; f < 16; f++) batch[b, s, f] = (float)rng.NextDouble();
        var y3 = (float[,,])model.GetMethod("Forward", new[] { typeof(float[,,]) })!.Invoke(instance, new object[] { batch })!;
        var packed = ShardGen.Runtime.Batches.Flatten(batch, out var lengths);
        var y2 = (float[,])model.GetMethod("Forward", new[] { typeof(float[,]), typeof(int[]) })!.Invoke(instance, new object[] { packed, lengths })!;
        Assert.Equal(new[] { 3, 5, 16 }, new[] { y3.GetLength(0), y3.GetLength(1), y3.GetLength(2) });
        for (int b = 0; b < 3; b++) for (int s = 0; s < 5; s++) for (int f = 0; f < 16; f++) Assert.Equal(y2[b * 5 + s, f], y3[b, s, f]);
    }
}
