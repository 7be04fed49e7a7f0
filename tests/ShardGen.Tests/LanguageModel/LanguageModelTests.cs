using System;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.LanguageModel;

/// <summary>
/// Generated language models on 1–4 CPU devices against a double-precision reference written from the same host
/// weights: vocabulary 1003 (divides no P above 1), packed sequences, tied heads, Qwen2-style q/k/v biases, sequence
/// parallelism; KV-cache decoding against full recomputation; bad ids and bad weights refused before any device memory.
/// </summary>
public sealed class LanguageModelTests
{
    private const double Tolerance = 2e-5;

    private static int[] RandomIds(Random rng, int count) => Enumerable.Range(0, count).Select(_ => rng.Next(1003)).ToArray();

    private static void AssertMatches(float[,] actual, double[,] expected, string what)
    {
        double error = ReferenceMath.RelativeError(actual, expected);
        Assert.True(error < Tolerance, $"{what}: relative error {error:E2} ≥ {Tolerance:E0}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void LlamaMatchesReference(int devices)
    {
        var weights = LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), seed: devices);
        var ids = RandomIds(new Random(10 + devices), 11);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = TinyLlama.Create(mesh, weights);
        var logits = model.Forward(ids, new[] { 7, 4 });
        Assert.Equal(new[] { 11, 1003 }, new[] { logits.GetLength(0), logits.GetLength(1) });
        AssertMatches(logits, LanguageModelReference.Logits(TinyLlama.LayerSpecs, weights, ids, new[] { 0, 7, 11 }), $"TinyLlama on {devices}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void LlamaSequenceParallelMatchesReference(int devices)
    {
        var weights = LanguageModelReference.RandomWeights(TinyLlamaSequenceParallel.PlanFor(1), seed: 5);
        var ids = RandomIds(new Random(20 + devices), 9);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = TinyLlamaSequenceParallel.Create(mesh, weights);
        AssertMatches(model.Forward(ids), LanguageModelReference.Logits(TinyLlamaSequenceParallel.LayerSpecs, weights, ids, new[] { 0, 9 }), $"sequence parallel on {devices}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Gpt2MatchesReference(int devices)
    {
        var weights = LanguageModelReference.RandomWeights(TinyGpt2.PlanFor(1), seed: 30 + devices);
        var ids = RandomIds(new Random(devices), 10);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = TinyGpt2.Create(mesh, weights);
        AssertMatches(model.Forward(ids, new[] { 3, 5, 2 }), LanguageModelReference.Logits(TinyGpt2.LayerSpecs, weights, ids, new[] { 0, 3, 8, 10 }), $"TinyGpt2 on {devices}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Gpt2SequenceParallelMatchesReference(int devices)
    {
        var weights = LanguageModelReference.RandomWeights(TinyGpt2SequenceParallel.PlanFor(1), seed: 50 + devices);
        var ids = RandomIds(new Random(60 + devices), 11);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = TinyGpt2SequenceParallel.Create(mesh, weights);
        AssertMatches(model.Forward(ids, new[] { 5, 6 }), LanguageModelReference.Logits(TinyGpt2SequenceParallel.LayerSpecs, weights, ids, new[] { 0, 5, 11 }),
            $"GPT-2 sequence parallel on {devices}");
    }

    /// <summary>A tied head reads the embedding's own shards (no weight of its own) and Qwen2's q/k/v biases are added.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void TiedHeadAndQkvBiasesMatchReference(int devices)
    {
        var layers = TinyLlama.LayerSpecs.Select(l => l.Strategy switch
        {
            ParallelStrategy.LmHead => l with { Tied = true },
            ParallelStrategy.TransformerStack => l with { Block = l.Block! with { QkvBias = true } },
            _ => l,
        }).ToArray();
        var plan = ModelPlan.Create("TinyLlama", layers, 1);
        var weights = LanguageModelReference.RandomWeights(plan, seed: 7);
        Assert.Null(weights.Get(new WeightKey(3, -1, WeightRole.Head)));
        Assert.NotNull(weights.Get(new WeightKey(1, 0, WeightRole.KeyBias)));
        var ids = RandomIds(new Random(3), 6);
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = TinyLlama.Create(mesh, weights, layers);
        AssertMatches(model.Forward(ids), LanguageModelReference.Logits(layers, weights, ids, new[] { 0, 6 }), $"tied, q/k/v biases on {devices}");
    }

    /// <summary>Prefill, then one token at a time with the cache: each step's logits equal the full recomputation's last rows.</summary>
    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(false, 4)]
    [InlineData(true, 3)]
    public void CacheDecodeEqualsFullRecompute(bool gpt2, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        ILanguageModel model = gpt2
            ? TinyGpt2.Create(mesh, LanguageModelReference.RandomWeights(TinyGpt2.PlanFor(1), 41))
            : TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 42));
        using var owned = model;
        var rng = new Random(devices);
        var ids = RandomIds(rng, 12).ToList();
        using var cache = model.CreateCache(16);
        var prefill = model.Forward(ids.Take(5).ToArray(), cache);
        Assert.Equal(5, cache.Length);
        var full = model.Forward(ids.Take(5).ToArray(), null);
        AssertClose(full, 0, prefill, 0, 5);
        for (int n = 5; n < ids.Count; n++)
        {
            var step = model.Forward(new[] { ids[n] }, cache);
            Assert.Equal(n + 1, cache.Length);
            var recomputed = model.Forward(ids.Take(n + 1).ToArray(), null);
            AssertClose(recomputed, n, step, 0, 1);
        }
        Assert.Throws<ArgumentException>(() => model.Forward(RandomIds(rng, 5), cache)); // 12 + 5 > 16
    }

    /// <summary>Sequence parallel decoding: one new token leaves every device but the first without rows of its own.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void SequenceParallelCacheDecodeEqualsFullRecompute(int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        ILanguageModel model = TinyLlamaSequenceParallel.Create(mesh, LanguageModelReference.RandomWeights(TinyLlamaSequenceParallel.PlanFor(1), 43));
        using var owned = model;
        var ids = RandomIds(new Random(5), 9);
        using var cache = model.CreateCache(12);
        model.Forward(ids.Take(6).ToArray(), cache);
        for (int n = 6; n < ids.Length; n++)
            AssertClose(model.Forward(ids.Take(n + 1).ToArray(), null), n, model.Forward(new[] { ids[n] }, cache), 0, 1);
    }

    /// <summary>Threads sharing one cache: each token is appended once, none beyond its capacity (the check runs under the mesh's gate).</summary>
    [Fact]
    public void ConcurrentDecodesOnOneCacheNeverOverflowIt()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 4));
        ILanguageModel lm = model;
        using var cache = lm.CreateCache(40);
        int appended = 0, refused = 0;
        System.Threading.Tasks.Parallel.For(0, 60, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            try
            {
                lm.Forward(new[] { i % 1003 }, cache);
                System.Threading.Interlocked.Increment(ref appended);
            }
            catch (ArgumentException)
            {
                System.Threading.Interlocked.Increment(ref refused);
            }
        });
        Assert.Equal(40, appended);
        Assert.Equal(20, refused);
        Assert.Equal(40, cache.Length);
    }

    private static void AssertClose(float[,] expected, int expectedRow, float[,] actual, int actualRow, int rows)
    {
        double maxDiff = 0, maxValue = 0;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < expected.GetLength(1); c++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(expected[expectedRow + r, c] - actual[actualRow + r, c]));
                maxValue = Math.Max(maxValue, Math.Abs(expected[expectedRow + r, c]));
            }
        Assert.True(maxDiff <= 1e-5 * maxValue, $"cache decode differs from recomputation by {maxDiff / maxValue:E2} (relative)");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1003)]
    [InlineData(int.MaxValue)]
    public void BadIdsAreRefusedNamingPositionIdAndVocab(int bad)
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 1));
        var e = Assert.Throws<ArgumentException>(() => model.Forward(new[] { 5, 6, bad, 7 }));
        Assert.Contains("tokenIds[2]", e.Message);
        Assert.Contains(bad.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Contains("1003", e.Message);
        Assert.Equal(11, model.Forward(new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }).GetLength(0)); // the model still runs
    }

    [Fact]
    public void MissingAndMisshapedTensorsAreRefusedBeforeAnyDeviceMemory()
    {
        var weights = LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 2);
        var missing = new WeightKey(1, 1, WeightRole.MlpGate);
        var misshaped = new WeightKey(1, 0, WeightRole.Key);
        weights.Remove(missing);
        weights.Set(misshaped, new float[48, 7]);
        using var mesh = DeviceMesh.CreateCpu(2);
        long before = mesh.Devices.Sum(d => d.AllocatedBytes);
        var e = Assert.Throws<ShardingException>(() => TinyLlama.Create(mesh, weights));
        Assert.Contains($"'{missing}'", e.Message);
        Assert.Contains("missing; expected [48, 96]", e.Message);
        Assert.Contains($"'{misshaped}'", e.Message);
        Assert.Contains("is [48, 7] but the model expects [48, 8]", e.Message);
        Assert.Equal(before, mesh.Devices.Sum(d => d.AllocatedBytes));
    }

    [Fact]
    public void HeadsThatDoNotSplitAreShard018WithTheCountsThatWork()
    {
        using var mesh = DeviceMesh.CreateCpu(3);
        var e = Assert.Throws<ShardingException>(() => TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 1)));
        Assert.Contains("SHARD018", e.Message + string.Join(" ", e.Data.Values.Cast<object>()));
        Assert.Contains("1, 2, 4", e.Message);
    }

    /// <summary>
    /// A block's device-local temporaries go back to the pool at its end: four more blocks add only their reductions'
    /// buffers (two partial sums and two reduced streams of [T, hidden]), not their q|k|v, context and MLP activations.
    /// </summary>
    [Fact]
    public void ActivationsDoNotGrowWithTheStacksDepthBeyondItsReductions()
    {
        const int tokens = 32;
        long Activations(Func<DeviceMesh, ILanguageModel> create)
        {
            using var mesh = DeviceMesh.CreateCpu(1);
            using var model = create(mesh);
            long weights = mesh.Devices[0].AllocatedBytes;
            model.Forward(RandomIds(new Random(1), tokens), null);
            return mesh.Devices[0].PooledBytes + mesh.Devices[0].AllocatedBytes - weights;
        }
        long two = Activations(m => TinyLlama.Create(m, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 1)));
        long six = Activations(m => TinyLlamaSixBlocks.Create(m, LanguageModelReference.RandomWeights(TinyLlamaSixBlocks.PlanFor(1), 1)));
        long perBlock = (six - two) / 4, reductions = 4L * tokens * 48 * sizeof(float);
        Assert.True(perBlock <= reductions, $"each extra block keeps {perBlock} B of activations; its reductions alone are {reductions} B");
    }

    [Fact]
    public void PlanCountsEachStackStepOncePerBlock()
    {
        var plan = TinyLlama.PlanFor(4, tokens: 10);
        // The embedding's all-reduce, then two per block of the stack.
        Assert.Equal(1 + 2 * 2, plan.PredictedCalls(ShardGen.Collectives.CollectiveKind.AllReduce));
        Assert.Equal(5 * 2L * 3 * 10 * 48 * 4, plan.PredictedTotalBytes(10));
        Assert.Contains("once per block (2×)", plan.ToString());
    }
}

/// <summary>A language model's plan prints, draws and costs like any other: the catalog's words, the stack's steps once per block.</summary>
public sealed class LanguageModelPlanTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void PlanPrintsDrawsAndCosts(int devices)
    {
        var plan = TinyGpt2.PlanFor(devices, tokens: 16);
        string text = plan.ToString();
        Assert.Contains("vocab-parallel embedding [1003, 48]", text);
        Assert.Contains("Layers[i]", text);
        Assert.Contains("logits of its own vocabulary range", text);
        Assert.Contains("<svg", plan.ToSvg());
        var cost = ShardGen.Costs.CostModel.PredictForward(plan, 16, ShardGen.Costs.DeviceProfile.H100Class, ShardGen.Costs.LinkProfile.NvLinkClass);
        Assert.True(cost.TotalFlops > 2.0 * 16 * 48 * 1003, "the head's GEMM alone");
    }
}
