using System;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Runtime;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;
using R = ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// Each backward step alone on a 2-device training pass, fed chosen inputs (ForwardPass.Place), against central finite
/// differences of ⟨dY, f⟩ for that step's forward f written in double here (TrainingReference.FiniteDifferences):
/// activation gradients whole, parameter gradients as the device slices of the gradient twins hold them.
/// Central differences in double at h = 1e-5 are exact to ~1e-10; the float32 kernels are good to ~1e-6, so 1e-4
/// relative (‖g − g_fd‖/‖g_fd‖) fails on any wrong index, transpose or missing term and never on rounding.
/// </summary>
public sealed class BackwardStepTests
{
    private const double Tolerance = 1e-4;
    private const int Devices = 2;
    private static readonly int[] Lengths = { 2, 3 };
    private const int T = 5;

    /// <summary>A training pass of a small model on 2 devices (gradientScale 1), ready to be fed steps.</summary>
    private sealed class Harness : IDisposable
    {
        public readonly DeviceMesh Mesh = DeviceMesh.CreateCpu(Devices);
        public readonly ITrainableLanguageModel Model;
        public readonly InMemoryWeights Weights;
        public readonly ShardedModelCore Core;
        public readonly ForwardPass Pass;
        public readonly Random Rng;
        public readonly int[] Targets;
        public readonly int Stack;   // the stack's layer index

        public Harness(string variant, int seed, bool sequenceParallel = false)
        {
            var layers = TrainableModels.Layers(variant);
            Weights = LanguageModelReference.RandomWeights(ModelPlan.Create("S", layers, 1), seed);
            Model = TrainableModels.Create(Mesh, variant.StartsWith("TinyGpt2", StringComparison.Ordinal), sequenceParallel, Weights, layers);
            Core = Model.Training.Core;
            Rng = new Random(seed);
            Targets = Enumerable.Range(0, T).Select(_ => Rng.Next(Model.Vocab)).ToArray();
            Stack = Enumerable.Range(0, Core.Plan.Layers.Count).First(i => Core.Plan.Layers[i] is TransformerStack);
            Pass = Core.BeginTraining(Enumerable.Range(0, T).Select(_ => Rng.Next(Model.Vocab)).ToArray(), Targets, Lengths, 1f);
        }

        public double[] Random(int count) => Enumerable.Range(0, count).Select(_ => Rng.NextDouble() * 2 - 1).ToArray();

        /// <summary>Places per-device pieces (row-major double arrays of [rows, cols]) as a tensor of the pass.</summary>
        public ShardedTensor Place(Placement placement, int features, Func<int, (double[] Values, int Rows, int Cols)> piece) =>
            Pass.Place(placement, features, Enumerable.Range(0, Devices).Select(r =>
            {
                var (v, rows, cols) = piece(r);
                var m = new float[rows, cols];
                for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) m[i, j] = (float)v[i * cols + j];
                return m;
            }).ToArray());

        /// <summary>The logical parameter (as the model was made from), flattened.</summary>
        public double[] Parameter(int layer, int block, WeightRole role)
        {
            var m = Weights.Get(new WeightKey(layer, block, role))!;
            return m.Cast<float>().Select(v => (double)v).ToArray();
        }

        public void Dispose()
        {
            Pass.Dispose();
            Model.Dispose();
            Mesh.Dispose();
        }
    }

    private static double[] Download(MatrixView view) => Array.ConvertAll(R.Download(view), v => (double)v);

    private static void AssertClose(double[] actual, double[] expected, string what)
    {
        double error = GradientGather.RelativeError(actual, expected);
        Assert.True(error <= Tolerance, $"{what}: relative error {error:E2} against finite differences");
    }

    /// <summary>
    /// Central differences of ⟨dy, f(p)⟩ at <paramref name="count"/> random elements of a large parameter (what
    /// FiniteDifferences does for all of them); compared with the gradient's same elements.
    /// </summary>
    private static void AssertSampled(Random rng, Func<double[], double[]> forward, double[] p, double[] dy, Func<int, double> actual, int count, string what)
    {
        var at = Enumerable.Range(0, count).Select(_ => rng.Next(p.Length)).Distinct().ToArray();
        var expected = new double[at.Length];
        var probe = (double[])p.Clone();
        for (int k = 0; k < at.Length; k++)
        {
            int i = at[k];
            double step = 1e-5 * Math.Max(1, Math.Abs(p[i]));
            probe[i] = p[i] + step;
            double up = TrainingReference.Dot(dy, forward(probe));
            probe[i] = p[i] - step;
            double down = TrainingReference.Dot(dy, forward(probe));
            probe[i] = p[i];
            expected[k] = (up - down) / (2 * step);
        }
        AssertClose(at.Select(actual).ToArray(), expected, what + $" ({at.Length} random elements)");
    }

    private static (int Start, int Length) Shard(int total, int rank) => (EvenRanges.Start(total, Devices, rank), EvenRanges.Length(total, Devices, rank));

    [Fact]
    public void AttentionBackward_IncludesTheRotaryBackward_PerDevice()
    {
        using var h = new Harness("TinyLlama tied, q/k/v biases", 11);
        var block = h.Core.Stack(h.Stack)[0];
        var info = block.Info;
        int w = info.LocalQkvWidth, ow = info.LocalHeads * info.HeadDim;
        var qkvIn = Enumerable.Range(0, Devices).Select(_ => h.Random(T * w)).ToArray();
        var dOut = Enumerable.Range(0, Devices).Select(_ => h.Random(T * ow)).ToArray();
        var qkv = new ShardedTensor<HeadShards>(h.Place(Placement.HeadShards, info.QkvWidth, r => (qkvIn[r], T, w)));
        var context = h.Pass.Attention(qkv, block);   // rotates q and k in place, as in training
        var dContext = new ShardedTensor<ColumnShards>(h.Place(Placement.ColumnShards, info.Heads * info.HeadDim, r => (dOut[r], T, ow)));
        var dQkv = h.Pass.AttentionBackward(dContext, qkv, block);

        var shape = new AttentionShape(info.LocalHeads, info.LocalKvHeads, info.HeadDim, true, new[] { 0, 2, 5 });
        var positions = new[] { 0, 1, 0, 1, 2 };
        double[] Forward(double[] x) => R.Attention(R.Rotary(x, T, w, info.LocalHeads + info.LocalKvHeads, info.HeadDim, positions, info.Shape.RopeTheta, true), shape);
        for (int r = 0; r < Devices; r++)
        {
            AssertClose(Download(context.Shards[r]), Forward(qkvIn[r]), $"device {r}: attention forward (the harness)");
            AssertClose(Download(dQkv.Shards[r]), TrainingReference.FiniteDifferences(Forward, qkvIn[r], dOut[r]), $"device {r}: dQkv");
        }
    }

    [Theory]
    [InlineData("TinyLlama tied, q/k/v biases")]   // gated SiLU, no MLP biases
    [InlineData("TinyGpt2")]                       // plain GELU (tanh), biases
    public void MlpBackward_UpAndDown_WithTheirWeightSlices(string variant)
    {
        using var h = new Harness(variant, 12);
        var block = h.Core.Stack(h.Stack)[0];
        var info = block.Info;
        int d = info.Hidden, f = info.FfnHidden, lf = info.LocalFfn, stack = h.Stack;
        var x = h.Random(T * d);
        var dY = h.Random(T * d);
        var xs = new ShardedTensor<Replicated>(h.Place(Placement.Replicated, d, _ => (x, T, d)));
        var dYs = new ShardedTensor<Replicated>(h.Place(Placement.Replicated, d, _ => (dY, T, d)));
        var hidden = h.Pass.MlpUp(xs, block);
        var dHidden = h.Pass.MlpDownBackward(dYs, hidden, block);
        var dX = h.Pass.MlpUpBackward(dHidden, xs, block);
        var dXSum = new double[T * d];
        for (int r = 0; r < Devices; r++) { var p = Download(dX.Shards[r]); for (int i = 0; i < p.Length; i++) dXSum[i] += p[i]; }

        var gate = info.Gated ? h.Parameter(stack, 0, WeightRole.MlpGate) : null;
        var up = h.Parameter(stack, 0, WeightRole.MlpUp);
        var down = h.Parameter(stack, 0, WeightRole.MlpDown);
        var upBias = info.HasBias ? h.Parameter(stack, 0, WeightRole.MlpUpBias) : new double[f];
        // The down bias is added after the reduction (MlpResidual): not part of this step.
        double[] Mlp(double[] xv, double[]? g, double[] u, double[] dn, double[] ub)
        {
            var z = R.MatMul(xv, d, false, u, f, false, T, f, d);
            var a = new double[T * f];
            if (g is null)
                for (int i = 0; i < a.Length; i++) a[i] = R.Activate(z[i] + ub[i % f], info.Activation);
            else
            {
                var zg = R.MatMul(xv, d, false, g, f, false, T, f, d);
                for (int i = 0; i < a.Length; i++) a[i] = R.Activate(zg[i], info.Activation) * (z[i] + ub[i % f]);
            }
            return R.MatMul(a, f, false, dn, d, false, T, d, f);
        }
        AssertClose(dXSum, TrainingReference.FiniteDifferences(v => Mlp(v, gate, up, down, upBias), x, dY), "dX (summed partials)");

        var twin = h.Core.GradientOf(block);
        // Logical [d, f] column c of the up (or gate) weight is on device c / lf; the gated shard is [gate_r | up_r].
        double UpAt(int r, int c, bool isGate) =>
            Download(twin.Up[c / lf].Weight.Single)[r * twin.Up[c / lf].Weight.Single.Cols + (info.Gated && !isGate ? lf : 0) + c % lf];
        AssertSampled(h.Rng, v => Mlp(x, gate, v, down, upBias), up, dY, i => UpAt(i / f, i % f, false), 64, "dW up");
        if (gate is not null) AssertSampled(h.Rng, v => Mlp(x, v, up, down, upBias), gate, dY, i => UpAt(i / f, i % f, true), 64, "dW gate");
        AssertSampled(h.Rng, v => Mlp(x, gate, up, v, upBias), down, dY, i => Download(twin.Down[i / d / lf].Weight.Single)[(i / d % lf) * d + i % d], 64, "dW down");
        if (info.HasBias)
            AssertClose(Enumerable.Range(0, f).Select(c => Download(twin.Up[c / lf].Bias!.Value)[c % lf]).ToArray(),
                TrainingReference.FiniteDifferences(v => Mlp(x, gate, up, down, v), upBias, dY), "d up bias");
    }

    [Theory]
    [InlineData("TinyGpt2", false)]                        // LayerNorm: scale and shift
    [InlineData("TinyLlama tied, q/k/v biases", false)]    // RMSNorm
    [InlineData("TinyGpt2", true)]                         // token shards: partial γ/β gradients summed at the end
    public void NormBackward_AddsIntoTheStream_AndFillsScaleAndShift(string variant, bool sequenceParallel)
    {
        using var h = new Harness(variant, 13, sequenceParallel);
        var block = h.Core.Stack(h.Stack)[0];
        var info = block.Info;
        int d = info.Hidden, stack = h.Stack;
        var x = h.Random(T * d);
        var dY = h.Random(T * d);
        var dStream0 = h.Random(T * d);
        var placement = sequenceParallel ? Placement.TokenShards : Placement.Replicated;
        (double[], int, int) Piece(double[] all, int r)
        {
            if (!sequenceParallel) return (all, T, d);
            var (t0, tn) = Shard(T, r);
            return (all.Skip(t0 * d).Take(tn * d).ToArray(), tn, d);
        }
        var xs = h.Place(placement, d, r => Piece(x, r));
        var dYs = h.Place(placement, d, r => Piece(dY, r));
        var dStream = h.Place(placement, d, r => Piece(dStream0, r));
        if (sequenceParallel)
        {
            h.Pass.MlpNormBackward(new ShardedTensor<TokenShards>(dYs), new(xs), new(dStream), block);
            // The backward's explicit end sums the replicated parameters' partial gradients into the twins.
            h.Pass.SumReplicatedGradients();
        }
        else h.Pass.MlpNormBackward(new ShardedTensor<Replicated>(dYs), new(xs), new(dStream), block);

        var gamma = h.Parameter(stack, 0, WeightRole.MlpNormScale);
        bool layer = info.Shape.Norm == NormKind.LayerNorm;
        var beta = layer ? h.Parameter(stack, 0, WeightRole.MlpNormShift) : null;
        double[] Norm(double[] xv, double[] g, double[]? b) => TrainingReference.Norm(xv, T, d, info.Shape.Norm, g, b, info.Shape.Epsilon);
        var expectedStream = TrainingReference.FiniteDifferences(v => Norm(v, gamma, beta), x, dY).Select((g, i) => g + dStream0[i]).ToArray();
        var actualStream = sequenceParallel
            ? Enumerable.Range(0, Devices).SelectMany(r => Download(dStream.Shards[r])).ToArray()
            : Download(dStream.Shards[0]);
        AssertClose(actualStream, expectedStream, "dStream + dX");
        var twin = h.Core.GradientOf(block);
        for (int r = 0; r < Devices; r++)
        {
            AssertClose(Download(twin.MlpNorm[r].Scale), TrainingReference.FiniteDifferences(v => Norm(x, v, beta), gamma, dY), $"device {r}: dγ");
            if (beta is not null)
                AssertClose(Download(twin.MlpNorm[r].Shift!.Value), TrainingReference.FiniteDifferences(v => Norm(x, gamma, v), beta, dY), $"device {r}: dβ");
        }
    }

    [Fact]
    public void Loss_BeforeTheReplicatedSums_UnderSequenceParallelism_NamesTheMissingStep()
    {
        using var h = new Harness("TinyGpt2", 15, sequenceParallel: true);
        var block = h.Core.Stack(h.Stack)[0];
        int d = block.Info.Hidden, vocab = h.Model.Vocab;
        (double[], int, int) Tokens(double[] all, int r)
        {
            var (t0, tn) = Shard(T, r);
            return (all.Skip(t0 * d).Take(tn * d).ToArray(), tn, d);
        }
        var dY = h.Random(T * d);
        var xs = h.Place(Placement.TokenShards, d, r => Tokens(h.Random(T * d), r));
        var dYs = h.Place(Placement.TokenShards, d, r => Tokens(dY, r));
        var dStream = h.Place(Placement.TokenShards, d, r => Tokens(new double[T * d], r));
        // The norm's γ/β gradients are per-device partials until SumReplicatedGradients.
        h.Pass.MlpNormBackward(new ShardedTensor<TokenShards>(dYs), new(xs), new(dStream), block);
        var logits = h.Place(Placement.ColumnShards, vocab, r => (h.Random(T * Shard(vocab, r).Length), T, Shard(vocab, r).Length));
        h.Pass.CrossEntropy(new ShardedTensor<ColumnShards>(logits));

        var error = Assert.Throws<InvalidOperationException>(() => h.Pass.Loss());
        Assert.Contains("SumReplicatedGradients()", error.Message);
        Assert.Contains("Loss()", error.Message);
        var twin = h.Core.GradientOf(block);
        Assert.All(Download(twin.MlpNorm[0].Scale), v => Assert.Equal(0, v));   // nothing summed or lost yet

        h.Pass.SumReplicatedGradients();
        Assert.True(h.Pass.Loss() > 0);
        Assert.Contains(Download(twin.MlpNorm[0].Scale), v => v != 0);
    }

    [Fact]
    public void CrossEntropy_OverUnevenVocabularyShards_GivesTheLossAndItsGradient()
    {
        using var h = new Harness("TinyGpt2", 14);
        int vocab = h.Model.Vocab;   // 1003: 502 + 501 columns
        var logits = h.Random(T * vocab).Select(v => 4 * v).ToArray();
        var shards = h.Place(Placement.ColumnShards, vocab, r =>
        {
            var (c0, n) = Shard(vocab, r);
            return (Enumerable.Range(0, T * n).Select(i => logits[i / n * vocab + c0 + i % n]).ToArray(), T, n);
        });
        var dLogits = h.Pass.CrossEntropy(new ShardedTensor<ColumnShards>(shards));
        double loss = h.Pass.Loss();

        double[] Sum(double[] l) => new[] { TrainingReference.CrossEntropy(l, T, vocab, h.Targets).Loss * T };
        Assert.True(Math.Abs(loss - Sum(logits)[0]) <= 1e-6 * Sum(logits)[0], $"Σ loss {loss:R} vs {Sum(logits)[0]:R}");
        var actual = new double[T * vocab];
        for (int r = 0; r < Devices; r++)
        {
            var (c0, n) = Shard(vocab, r);
            var p = Download(dLogits.Shards[r]);
            for (int i = 0; i < p.Length; i++) actual[i / n * vocab + c0 + i % n] = p[i];
        }
        AssertClose(actual, TrainingReference.FiniteDifferences(Sum, logits, new[] { 1.0 }), "dLogits (scale 1)");
    }

    [Fact]
    public void TiedLmHeadBackward_PutsTheWeightGradientIntoTheEmbeddingRows()
    {
        using var h = new Harness("TinyLlama tied, q/k/v biases", 15);
        var head = h.Core.Linear(3);
        Assert.True(head.Info.Tied);
        int d = head.Info.InFeatures, vocab = head.Info.OutFeatures;
        var x = h.Random(T * d);
        var dLogits = h.Random(T * vocab);
        var xs = new ShardedTensor<Replicated>(h.Place(Placement.Replicated, d, _ => (x, T, d)));
        var ds = new ShardedTensor<ColumnShards>(h.Place(Placement.ColumnShards, vocab, r =>
        {
            var (c0, n) = Shard(vocab, r);
            return (Enumerable.Range(0, T * n).Select(i => dLogits[i / n * vocab + c0 + i % n]).ToArray(), T, n);
        }));
        var dX = h.Pass.LmHeadBackward(ds, xs, head);
        var table = h.Parameter(0, -1, WeightRole.TokenEmbedding);   // [vocab, d]: logits = x·tableᵀ
        double[] Head(double[] xv, double[] e) => R.MatMul(xv, d, false, e, d, true, T, vocab, d);
        var dXSum = new double[T * d];
        for (int r = 0; r < Devices; r++) { var p = Download(dX.Shards[r]); for (int i = 0; i < p.Length; i++) dXSum[i] += p[i]; }
        AssertClose(dXSum, TrainingReference.FiniteDifferences(v => Head(v, table), x, dLogits), "dX (summed partials)");
        var twin = h.Core.GradientOf(h.Core.Embedding(0));
        var dTable = Enumerable.Range(0, Devices).SelectMany(r => Download(twin.Tables[r])).ToArray();
        AssertSampled(h.Rng, v => Head(x, v), table, dLogits, i => dTable[i], 64, "d embedding (tied head)");
    }
}
