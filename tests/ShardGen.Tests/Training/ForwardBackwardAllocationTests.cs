using System;
using System.Linq;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

namespace ShardGen.Tests.Training;

/// <summary>
/// A steady-state training step makes (almost) no managed object on the host thread: ZeroGradients zeroes on the
/// devices, the pass, its scratch, the kept-activations array and Loss's host copies are reused, and the step's checks
/// allocate nothing. What remains is the CPU device's own copy of each id array it queues (the kernels read the ids
/// later, on the device's worker, so CpuDevice copies the caller's array): counted here launch by launch, as an upper
/// bound that a device which stops copying also meets. The least of steps 3–6 is compared, as the other allocation
/// tests do: some bytes are one step's alone (the mesh's traffic log, a list of up to 16K records, doubling now and
/// then). Losses and gradients of step 6 equal step 2's on the same batch. Run alone (the allocation collection), so no
/// other test's first calls (type loads, lazy statics) land on this thread mid-measurement.
/// </summary>
[Collection(nameof(Runtime.AllocationMeasurements))]
public sealed class ForwardBackwardAllocationTests
{
    // Bytes a step may make beyond the device's id copies: less than any one thing this test has caught (the kept
    // array, 136 B; each Plan.Vocab lookup, 80 B; Loss's two host arrays, 328 B; the final norm's check, 40 B).
    private const long Slack = 32;

    private const int Steps = 6;

    [Theory]
    [InlineData("llama", 2)]
    [InlineData("llama", 4)]     // 2 KV heads on 4 devices: shared
    [InlineData("gpt2", 4)]      // learned positions
    [InlineData("llama-sp", 4)]  // sequence parallel
    public void StepsAfterTheSecondAllocateOnlyTheDevicesIdCopies(string family, int devices)
    {
        using var mesh = DeviceMesh.CreateCpu(devices);
        int seed = devices * 10 + family.Length;
        using ITrainableLanguageModel model = family switch
        {
            "llama" => TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), seed)),
            "llama-sp" => TinyLlamaSequenceParallel.Create(mesh, LanguageModelReference.RandomWeights(TinyLlamaSequenceParallel.PlanFor(1), seed)),
            _ => TinyGpt2.Create(mesh, LanguageModelReference.RandomWeights(TinyGpt2.PlanFor(1), seed)),
        };
        var rng = new Random(seed);
        int[] lengths = [6, 5];
        int tokens = lengths.Sum();
        var ids = Enumerable.Range(0, tokens).Select(_ => rng.Next(model.Vocab)).ToArray();
        var targets = Enumerable.Range(0, tokens).Select(_ => rng.Next(model.Vocab)).ToArray();
        var training = model.Training;

        var zeroing = new long[Steps];
        var step = new long[Steps];
        var losses = new double[Steps];
        float[][] second = [];
        for (int s = 0; s < Steps; s++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            training.ZeroGradients();
            long zeroed = GC.GetAllocatedBytesForCurrentThread();
            losses[s] = model.ForwardBackward(ids, targets, lengths);
            long after = GC.GetAllocatedBytesForCurrentThread();
            (zeroing[s], step[s]) = (zeroed - before, after - zeroed);
            if (s == 1) second = Download(training);
        }

        var layers = training.Core.Plan.Layers;
        int blocks = training.Core.Stack(Enumerable.Range(0, layers.Count).First(i => layers[i] is global::ShardGen.TransformerStack)).Count;
        long copies = DeviceIdCopies(family, devices, tokens, blocks);
        var steady = step[2..];
        Assert.True(zeroing[2..].Min() <= Slack, $"ZeroGradients allocated {Format(zeroing)} B in steps 1–{Steps}; at most {Slack} B is allowed");
        Assert.True(steady.Min() <= copies + Slack,
            $"ForwardBackward allocated {Format(step)} B in steps 1–{Steps} on its thread; the CPU devices' id copies are {copies:N0} B and at most {Slack} B more is allowed");
        Assert.Equal(losses[1], losses[^1]);
        var last = Download(training);
        for (int g = 0; g < last.Length; g++)
            Assert.True(second[g].SequenceEqual(last[g]), $"gradient {training.Gradients[g].Key} on device {training.Gradients[g].Rank}: step {Steps} differs from step 2");
    }

    /// <summary>
    /// The rest of a training step, clipping (the norm's sums are kept; a small bound, so every slice is scaled) and an
    /// optimizer's step (AdamW's moments are made at its first), allocates nothing on the host thread from step 3 on.
    /// </summary>
    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void ClippingAndOptimizerStepsAfterTheSecondAllocateNothing(string name)
    {
        using var mesh = DeviceMesh.CreateCpu(4);
        using var model = TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 41));
        using Optimizer optimizer = name == "adamw" ? new AdamW(1e-3) : new Sgd(1e-2);
        var rng = new Random(42);
        int[] lengths = [4, 7];
        var ids = Enumerable.Range(0, 11).Select(_ => rng.Next(model.Vocab)).ToArray();
        var targets = Enumerable.Range(0, 11).Select(_ => rng.Next(model.Vocab)).ToArray();
        var training = model.Training;
        var clipping = new long[Steps];
        var stepping = new long[Steps];
        for (int s = 0; s < Steps; s++)
        {
            training.ZeroGradients();
            model.ForwardBackward(ids, targets, lengths);
            long before = GC.GetAllocatedBytesForCurrentThread();
            double norm = training.ClipGradients(1e-3);
            long clipped = GC.GetAllocatedBytesForCurrentThread();
            optimizer.Step(training);
            long after = GC.GetAllocatedBytesForCurrentThread();
            (clipping[s], stepping[s]) = (clipped - before, after - clipped);
            Assert.True(norm > 1e-3, $"step {s + 1}: the gradient norm {norm} is under the bound, so nothing was scaled");
        }
        Assert.True(clipping[2..].Min() <= Slack, $"ClipGradients allocated {Format(clipping)} B in steps 1–{Steps}; at most {Slack} B is allowed");
        Assert.True(stepping[2..].Min() <= Slack, $"{name}'s Step allocated {Format(stepping)} B in steps 1–{Steps}; at most {Slack} B is allowed");
    }

    /// <summary>
    /// What the CPU devices copy per step: on each device an int[tokens] for every launch that takes ids — the token
    /// lookup and its scatter-add, the cross-entropy's statistics and gradient (targets), GPT-2's position lookup and its
    /// scatter-add — and each rotary call (2 per block: forward and backward) an int[] of positions plus its job object.
    /// Under sequence parallelism the rotary positions are still the whole pass's (q|k|v is gathered first).
    /// </summary>
    private static long DeviceIdCopies(string family, int devices, int tokens, int blocks)
    {
        long ids = IntArrayBytes(tokens);
        bool gpt2 = family == "gpt2";
        long perDevice = 4 * ids + (gpt2 ? 2 * ids : 2L * blocks * (ids + RotaryJobBytes));
        return devices * perDevice;
    }

    // An int[n]: header and length, the elements rounded up to 8 bytes.
    private static long IntArrayBytes(int n) => 24 + (n * sizeof(int) + 7) / 8 * 8;

    // The CPU device's queued rotary call (positions, heads, angle table): an object of at most 48 bytes.
    private const long RotaryJobBytes = 48;

    private static string Format(long[] bytes) => string.Join(", ", bytes.Select(b => b.ToString("N0")));

    private static float[][] Download(ModelTraining training) => training.Gradients.Select(g =>
    {
        var host = new float[g.Rows * g.Cols];
        g.Download(host);
        return host;
    }).ToArray();
}
