using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using ShardGen.Collectives;
using ShardGen.Planning;
using ShardGen.Tests.Reference;
using ShardGen.Tests.Transformer;
using ShardGen.Training;
using M = ShardGen.Tests.Models;

namespace ShardGen.Tests.Training;

/// <summary>
/// The generated <c>Backward(x, outputGradient)</c> of float models with transformer blocks, on fresh random inputs,
/// against PyTorch float64 autograd (tests/reference/float_block_grads.py, the block written from its definition): dX
/// and every parameter's gradient (norm scales and shifts, q|k|v, output, up and down weights and biases; a linear
/// head's or first layer's weight and bias) within 1e-4 of the largest reference value of each tensor. Multi-head,
/// grouped-query (2 KV heads) and multi-query attention (one KV head replicated on P = 2, 4, so its k/v gradient is
/// summed over its devices), causal and bidirectional, LayerNorm and RMSNorm, GELU and SiLU, with and without biases,
/// two blocks and a head, and sequence parallelism (token-sharded residual stream, a row-parallel layer feeding it), at
/// P = 1, 2, 4, one sequence or three packed. Float models' blocks have no rotary embeddings or gated MLP (the attribute offers neither): those
/// train in a language model's ForwardBackward. Also: measured traffic = the plan's forward + backward, and one SGD
/// step moves every slice (replicas included) to w − lr·g, checked by the stepped model's Forward against the double
/// reference on the torch-stepped weights; GradientNorm equals the reference gradients' norm, each parameter once.
/// </summary>
public sealed class GeneratedBlockBackwardTests
{
    private const double Tolerance = 1e-4;

    public static TheoryData<string, int> Cases => new()
    {
        { nameof(M.MhaBlock), 1 }, { nameof(M.MhaBlock), 2 }, { nameof(M.MhaBlock), 4 },
        { nameof(M.GqaBlock), 1 }, { nameof(M.GqaBlock), 2 }, { nameof(M.GqaBlock), 4 },
        { nameof(M.MqaBlock), 2 }, { nameof(M.MqaBlock), 4 },
        { nameof(M.TwoBlocks), 1 }, { nameof(M.TwoBlocks), 2 }, { nameof(M.TwoBlocks), 4 },
        { nameof(M.TwoBlocksSequenceParallel), 2 }, { nameof(M.TwoBlocksSequenceParallel), 4 },
        { nameof(M.MqaSequenceParallel), 2 }, { nameof(M.MqaSequenceParallel), 4 },
        { nameof(M.RowIntoSequenceParallelBlock), 2 }, { nameof(M.RowIntoSequenceParallelBlock), 4 },
    };

    [TorchTheory]
    [MemberData(nameof(Cases))]
    public void MatchesTorchAutograd(string name, int devices) => CheckAgainstTorch(name, devices, packed: false);

    /// <summary>Three sequences packed along the rows: attention stays within each, forward and backward.</summary>
    [TorchTheory]
    [InlineData(nameof(M.GqaBlock), 1)]
    [InlineData(nameof(M.MhaBlock), 2)]
    [InlineData(nameof(M.MqaSequenceParallel), 2)]
    [InlineData(nameof(M.TwoBlocksSequenceParallel), 4)]
    public void PackedSequencesMatchTorchAutograd(string name, int devices) => CheckAgainstTorch(name, devices, packed: true);

    private static void CheckAgainstTorch(string name, int devices, bool packed)
    {
        var c = Case(name);
        int seed = name.Length * 31 + devices + (packed ? 1000 : 0);
        using var mesh = DeviceMesh.CreateCpu(devices);
        var (model, weights) = c.Create(mesh, seed);
        using var _ = model;
        var rng = new Random(seed);
        int[]? lengths = packed ? [rng.Next(2, 6), rng.Next(1, 4), rng.Next(3, 7)] : null;
        int tokens = lengths?.Sum() ?? rng.Next(5, 11);
        var x = ReferenceMath.RandomMatrix(rng, tokens, c.Hidden);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, c.Specs[^1].OutFeatures);

        var ops = Ops(model);
        var dX = ops.Backward(x, dY, lengths);
        var reference = Torch(c.Specs, weights, x, dY, lengths);

        Near("dX", reference["dx"]!, dX);
        var layers = reference["layers"]!.AsArray();
        for (int i = 0; i < c.Specs.Count; i++)
            foreach (var (key, actual) in Named(ops.Gradients(i)))
                Near($"{c.Specs[i].Name}.{key}", layers[i]![key]!, actual);

        // The global norm counts each parameter once: a norm scale or output bias held by every device, a shared KV head's
        // k/v columns by each device of its group, the row-parallel layer's replicated bias.
        double squares = layers.SelectMany(l => l!.AsObject()).Sum(p => Flatten(p.Value!).Sum(g => g * g));
        double norm = ops.Training.GradientNorm();
        Assert.True(Math.Abs(norm - Math.Sqrt(squares)) <= Tolerance * Math.Sqrt(squares), $"GradientNorm {norm:R}, the reference's {Math.Sqrt(squares):R}.");
    }

    private static IEnumerable<double> Flatten(JsonNode node) =>
        node is JsonArray a ? a.SelectMany(n => Flatten(n!)) : [node.GetValue<double>()];

    /// <summary>The Backward's measured collectives equal the plan's forward plus backward figures, call kind by call kind.</summary>
    [Theory]
    [InlineData(nameof(M.MhaBlock), 4)]
    [InlineData(nameof(M.MqaBlock), 4)]
    [InlineData(nameof(M.TwoBlocks), 2)]
    [InlineData(nameof(M.TwoBlocksSequenceParallel), 4)]
    [InlineData(nameof(M.MqaSequenceParallel), 2)]
    [InlineData(nameof(M.RowIntoSequenceParallelBlock), 4)]
    public void MeasuredTrafficIsThePlansForwardPlusBackward(string name, int devices)
    {
        var c = Case(name);
        using var mesh = DeviceMesh.CreateCpu(devices);
        var (model, _) = c.Create(mesh, 3);
        using var __ = model;
        var rng = new Random(devices);
        const int tokens = 7;
        Ops(model).Backward(ReferenceMath.RandomMatrix(rng, tokens, c.Hidden), ReferenceMath.RandomMatrix(rng, tokens, c.Specs[^1].OutFeatures), null);
        var plan = model.Plan;
        Assert.True(plan.HasBackward);
        var measured = model.LastForward!;
        Assert.Equal(plan.PredictedTotalBytes(tokens) + plan.PredictedBackwardTotalBytes(tokens), measured.TotalBytesSent);
        foreach (var kind in Enum.GetValues<CollectiveKind>())
            Assert.True(plan.PredictedCalls(kind) + plan.PredictedBackwardCalls(kind) == measured.Count(kind),
                $"{kind}: planned {plan.PredictedCalls(kind)} + {plan.PredictedBackwardCalls(kind)}, measured {measured.Count(kind)}");
    }

    /// <summary>
    /// zero → Backward → SGD: the stepped model's Forward on new tokens equals the double reference with every parameter
    /// at w − lr·g (g from torch), so every slice moved once by its own gradient, the replicated ones on every device.
    /// </summary>
    [TorchTheory]
    [InlineData(nameof(M.MhaBlock), 2)]
    [InlineData(nameof(M.MqaBlock), 4)]
    [InlineData(nameof(M.TwoBlocks), 4)]
    [InlineData(nameof(M.TwoBlocksSequenceParallel), 2)]
    [InlineData(nameof(M.RowIntoSequenceParallelBlock), 4)]
    public void OneSgdStepMatchesTheReference(string name, int devices)
    {
        const double lr = 0.05;
        var c = Case(name);
        int seed = name.Length * 17 + devices;
        using var mesh = DeviceMesh.CreateCpu(devices);
        var (model, weights) = c.Create(mesh, seed);
        using var _ = model;
        var rng = new Random(seed);
        int tokens = rng.Next(5, 11);
        var x = ReferenceMath.RandomMatrix(rng, tokens, c.Hidden);
        var dY = ReferenceMath.RandomMatrix(rng, tokens, c.Specs[^1].OutFeatures);
        var ops = Ops(model);
        var reference = Torch(c.Specs, weights, x, dY, null);

        ops.Training.ZeroGradients();
        ops.Backward(x, dY, null);
        using (var sgd = new Sgd(lr)) sgd.Step(ops.Training);

        var layers = reference["layers"]!.AsArray();
        var stepped = weights.Select((w, i) => Stepped(w, layers[i]!, lr)).ToArray();
        var x2 = ReferenceMath.RandomMatrix(rng, tokens, c.Hidden);
        var expected = c.Reference(stepped, x2, null);
        var actual = c.Forward(model, x2, null);
        Near("Forward after the step", expected, actual);
    }

    [Fact]
    public void GradientsGivesEachLayerItsDeclaredType()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = M.TwoBlocks.Create(mesh, M.TwoBlocks.Weights.Random(1));
        Assert.IsType<TransformerBlockWeights>(model.Gradients(0));
        Assert.IsType<LinearWeights>(model.Gradients(2));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Gradients(3));
        Assert.Contains("TwoBlocks", e.Message);
    }

    // ---- The model's members, by case -------------------------------------------------------------

    private sealed record Members(Func<float[,], float[,], int[]?, float[,]> Backward, Func<int, LayerWeights> Gradients, ModelTraining Training);

    private static Members Ops(IShardedModel model) => model switch
    {
        M.MhaBlock m => new(m.Backward, m.Gradients, m.Training),
        M.GqaBlock m => new(m.Backward, m.Gradients, m.Training),
        M.MqaBlock m => new(m.Backward, m.Gradients, m.Training),
        M.TwoBlocks m => new(m.Backward, m.Gradients, m.Training),
        M.TwoBlocksSequenceParallel m => new(m.Backward, m.Gradients, m.Training),
        M.MqaSequenceParallel m => new(m.Backward, m.Gradients, m.Training),
        M.RowIntoSequenceParallelBlock m => new(m.Backward, m.Gradients, m.Training),
        _ => throw new ArgumentException(model.GetType().Name),
    };

    private static TransformerCase Case(string name) => TransformerCase.All.Single(c => c.Name == name);

    // ---- The reference's names for each parameter ---------------------------------------------------

    /// <summary>A layer's tensors by the reference's names (absent ones left out).</summary>
    private static IEnumerable<(string Key, Array Value)> Named(LayerWeights w)
    {
        var all = w switch
        {
            TransformerBlockWeights b => new (string, Array?)[]
            {
                ("attn_scale", b.AttentionNormScale), ("attn_shift", b.AttentionNormShift), ("qkv_w", b.Qkv.Weight), ("qkv_b", b.Qkv.Bias),
                ("out_w", b.Out.Weight), ("out_b", b.Out.Bias), ("mlp_scale", b.MlpNormScale), ("mlp_shift", b.MlpNormShift),
                ("up_w", b.Up.Weight), ("up_b", b.Up.Bias), ("down_w", b.Down.Weight), ("down_b", b.Down.Bias),
            },
            LinearWeights l => new (string, Array?)[] { ("w", l.Weight), ("b", l.Bias) },
            _ => throw new ArgumentException(w.GetType().Name),
        };
        return all.Where(p => p.Item2 is not null).Select(p => (p.Item1, p.Item2!));
    }

    /// <summary>The weights with every tensor at w − lr·g (g the reference's gradient, in double, rounded once).</summary>
    private static LayerWeights Stepped(LayerWeights w, JsonNode gradients, double lr)
    {
        float[]? V(float[]? v, string key) => v is null ? null : v.Select((e, i) => (float)(e - lr * gradients[key]![i]!.GetValue<double>())).ToArray();
        float[,] W(float[,] m, string key)
        {
            var g = Matrix(gradients[key]!);
            var r = new float[m.GetLength(0), m.GetLength(1)];
            for (int i = 0; i < r.GetLength(0); i++)
                for (int j = 0; j < r.GetLength(1); j++) r[i, j] = (float)(m[i, j] - lr * g[i, j]);
            return r;
        }
        LinearWeights L(LinearWeights l, string weight, string bias) => new(W(l.Weight, weight), V(l.Bias, bias));
        return w switch
        {
            TransformerBlockWeights b => new TransformerBlockWeights
            {
                AttentionNormScale = V(b.AttentionNormScale, "attn_scale")!, AttentionNormShift = V(b.AttentionNormShift, "attn_shift"),
                Qkv = L(b.Qkv, "qkv_w", "qkv_b"), Out = L(b.Out, "out_w", "out_b"),
                MlpNormScale = V(b.MlpNormScale, "mlp_scale")!, MlpNormShift = V(b.MlpNormShift, "mlp_shift"),
                Up = L(b.Up, "up_w", "up_b"), Down = L(b.Down, "down_w", "down_b"),
            },
            LinearWeights l => L(l, "w", "b"),
            _ => throw new ArgumentException(w.GetType().Name),
        };
    }

    // ---- The PyTorch reference ----------------------------------------------------------------------

    private static string Script { get; } = Path.Combine(Path.GetDirectoryName(TorchReference.Script)!, "float_block_grads.py");

    private static JsonNode Torch(IReadOnlyList<LayerSpec> specs, LayerWeights[] weights, float[,] x, float[,] dY, int[]? lengths)
    {
        var layers = new JsonArray();
        for (int i = 0; i < specs.Count; i++) layers.Add(Layer(specs[i], weights[i]));
        var input = new JsonObject { ["x"] = Json(x), ["dy"] = Json(dY), ["lengths"] = lengths is null ? null : new JsonArray(lengths.Select(n => (JsonNode)n).ToArray()), ["layers"] = layers };
        string dir = TrainReference.TemporaryFolder();
        try
        {
            string inPath = Path.Combine(dir, "in.json"), outPath = Path.Combine(dir, "out.json");
            File.WriteAllText(inPath, input.ToJsonString());
            var result = TorchReference.Start([Script, inPath, outPath], 600);
            if (result.ExitCode != 0) throw new InvalidOperationException($"float_block_grads.py exited with {result.ExitCode}:{Environment.NewLine}{result.Error}");
            return JsonNode.Parse(File.ReadAllText(outPath))!;
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static JsonObject Layer(LayerSpec spec, LayerWeights weights)
    {
        var o = new JsonObject { ["activation"] = spec.Activation.ToString().ToLowerInvariant() };
        if (spec.Block is { } b)
        {
            o["kind"] = "block";
            o["heads"] = b.Heads;
            o["kv_heads"] = b.KvHeads;
            o["norm"] = b.Norm == NormKind.LayerNorm ? "layer" : "rms";
            o["eps"] = (double)b.Epsilon;
            o["causal"] = b.Causal;
        }
        else
        {
            o["kind"] = "linear";
            o["out_in"] = spec.WeightLayout == WeightLayout.OutIn;
        }
        foreach (var (key, value) in Named(weights)) o[key] = value is float[,] m ? Json(m) : Json((float[])value);
        return o;
    }

    private static JsonArray Json(float[] v) => new(v.Select(e => (JsonNode)(double)e).ToArray());

    private static JsonArray Json(float[,] m)
    {
        var rows = new JsonArray();
        for (int r = 0; r < m.GetLength(0); r++)
            rows.Add(new JsonArray(Enumerable.Range(0, m.GetLength(1)).Select(c => (JsonNode)(double)m[r, c]).ToArray()));
        return rows;
    }

    private static double[,] Matrix(JsonNode node)
    {
        var rows = node.AsArray();
        int cols = rows[0]!.AsArray().Count;
        var m = new double[rows.Count, cols];
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < cols; c++) m[r, c] = rows[r]![c]!.GetValue<double>();
        return m;
    }

    // ---- Comparison ---------------------------------------------------------------------------------

    private static void Near(string what, JsonNode expected, Array actual)
    {
        if (actual is float[] v)
        {
            var e = expected.AsArray().Select(n => n!.GetValue<double>()).ToArray();
            Assert.Equal(e.Length, v.Length);
            Near(what, e, v.Select(f => (double)f).ToArray());
        }
        else
        {
            Near(what, Matrix(expected), (float[,])actual);
        }
    }

    private static void Near(string what, double[,] expected, float[,] actual)
    {
        Assert.Equal(expected.GetLength(0), actual.GetLength(0));
        Assert.Equal(expected.GetLength(1), actual.GetLength(1));
        Near(what, expected.Cast<double>().ToArray(), actual.Cast<float>().Select(f => (double)f).ToArray());
    }

    /// <summary>Every element within <see cref="Tolerance"/> of the tensor's largest reference magnitude.</summary>
    private static void Near(string what, double[] expected, double[] actual)
    {
        double scale = Math.Max(expected.Max(e => Math.Abs(e)), 1e-6), worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(expected[i] - actual[i]);
            if (!(error <= worst)) (worst, at) = (error, i);
        }
        Assert.True(worst <= Tolerance * scale,
            $"{what}: element {at} is {actual[at]:R}, the reference {expected[at]:R} (error {worst:E2}, {worst / scale:E2} of the largest {scale:E3}).");
    }
}
