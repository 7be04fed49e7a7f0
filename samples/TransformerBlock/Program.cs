using System;
using System.Diagnostics;
using System.Linq;
using ShardGen;
using ShardGen.Samples;
using ShardGen.Tests.Reference;
using ShardGen.Training;
using TransformerBlockSample;

// Runs one tensor-parallel transformer block on 1, 2, 4 and 8 devices, with and without sequence
// parallelism, and prints what each costs next to the textbook formula, and its error against a
// double-precision reference; then trains the sequence-parallel block for one step on 4 devices
// (Backward, one SGD step) and prints the loss before and after.  Usage: dotnet run --project samples/TransformerBlock -c Release
// [-- --backend cpu|ilgpu-cpu|cuda|opencl] (default cpu; ilgpu-cpu is ILGPU's emulator: slow).
// --diagram FILE.svg also writes the sequence-parallel block's plan on 4 devices as a picture.
var backend = SampleBackend.Parse(args, mpi: false);
if (backend is null) return SampleBackend.Unavailable;
int[] lengths = { 48, 16 };           // two sequences packed along the token dimension
int tokens = lengths.Sum(), hidden = 256;
var rng = new Random(11);
var x = ReferenceMath.RandomMatrix(rng, tokens, hidden);
var weights = GptBlock.Weights.Random(seed: 3);
if (DiagramOption.Requested(args, out string? diagramPath)
    && !DiagramOption.TryWrite(diagramPath, GptBlockSequenceParallel.PlanFor(devices: 4, tokens)))
    return DiagramOption.Unwritable;
var reference = TransformerReference.Block(ReferenceMath.ToDouble(x), GptBlock.LayerSpecs[0], weights.Block!, TransformerReference.Starts(lengths));

Console.WriteLine($"Transformer block on {backend.Name} devices: hidden {hidden}, 8 heads / 2 KV heads, MLP 1024; {tokens} tokens in sequences of {string.Join(" and ", lengths)}.");
Console.WriteLine($"Formula per block in forward: 2 all-reduces × 2(P−1)/P·T·d·4 B, or 2 reduce-scatters + 2 all-gathers × (P−1)/P·T·d·4 B.");
Console.WriteLine();
Console.WriteLine($"{"P",2} {"mode",-10} {"collectives",-34} {"B/device",10} {"formula",10} {"weights/dev",12} {"residual/dev",13} {"rel. error",10} {"ms",7}");
foreach (int p in new[] { 1, 2, 4, 8 })
    foreach (bool sp in new[] { false, true })
    {
        using var mesh = backend.TryCreateMesh(p);
        if (mesh is null) return SampleBackend.Unavailable;
        using IShardedModel model = sp
            ? GptBlockSequenceParallel.Create(mesh, new GptBlockSequenceParallel.Weights { Block = weights.Block })
            : GptBlock.Create(mesh, weights);
        Func<float[,]> run = sp
            ? () => ((GptBlockSequenceParallel)model).Forward(x, lengths)
            : () => ((GptBlock)model).Forward(x, lengths);
        run(); // warm-up
        var clock = Stopwatch.StartNew();
        var y = run();
        double ms = clock.Elapsed.TotalMilliseconds;

        var traffic = model.LastForward!;
        string calls = string.Join(", ", traffic.Records.GroupBy(r => r.Kind).Select(g => $"{g.Count()} {g.Key}"));
        double formula = 2 * 2.0 * (p - 1) / p * tokens * hidden * sizeof(float);
        var plan = model.Plan.WithTokens(tokens);
        Console.WriteLine($"{p,2} {(sp ? "seq-par" : "plain"),-10} {(calls.Length == 0 ? "-" : calls),-34} {traffic.AverageBytesPerDevice,10:N0} {formula,10:N0} " +
                          $"{plan.WeightBytesPerDevice,12:N0} {plan.ResidualStreamBytesPerDevice(tokens),13:N0} {ReferenceMath.RelativeError(y, reference),10:E1} {ms,7:F2}");
    }

// Training: the loss L = ½·Σ(y − target)²/T of a random target, its gradient dL/dY = (y − target)/T through the
// generated Backward (every parameter's gradient, sharded like its weight), then one SGD step.
const double learningRate = 0.05;
var target = ReferenceMath.RandomMatrix(rng, tokens, hidden);
double Loss(float[,] y, float[,] dY)
{
    double loss = 0;
    for (int t = 0; t < tokens; t++)
        for (int j = 0; j < hidden; j++)
        {
            double d = y[t, j] - target[t, j];
            loss += 0.5 * d * d / tokens;
            dY[t, j] = (float)(d / tokens);
        }
    return loss;
}
using (var mesh = backend.TryCreateMesh(4))
{
    if (mesh is null) return SampleBackend.Unavailable;
    using var model = GptBlockSequenceParallel.Create(mesh, new GptBlockSequenceParallel.Weights { Block = weights.Block });
    var dY = new float[tokens, hidden];
    double before = Loss(model.Forward(x, lengths), dY);
    model.Training.ZeroGradients();
    model.Backward(x, dY, lengths);
    double norm = model.Training.GradientNorm();
    double bytes = model.LastForward!.AverageBytesPerDevice;
    using (var sgd = new Sgd(learningRate)) sgd.Step(model.Training);
    double after = Loss(model.Forward(x, lengths), dY);
    Console.WriteLine();
    Console.WriteLine($"Training on 4 devices (seq-par): loss ½·Σ(y − target)²/T {before:F4} → {after:F4} after Backward and one SGD step (lr {learningRate}).");
    Console.WriteLine($"Gradient norm {norm:F4}; the training pass's collectives (forward + backward) {bytes:N0} B/device.");
    if (!(after < before))
    {
        Console.Error.WriteLine($"The SGD step did not lower the loss ({before:R} → {after:R}): the gradients are wrong.");
        return 1;
    }
}
Console.WriteLine();
Console.WriteLine("Bytes are measured by the runtime's collectives; the plan predicts the same figures (see the tests).");
Console.WriteLine("Generated source: samples/TransformerBlock/obj/Release/net10.0/generated/ShardGen.Generators/ShardGen.Generators.ShardGenerator/");
return 0;
