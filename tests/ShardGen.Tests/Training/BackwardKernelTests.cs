using System;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Tests.Reference;
using static ShardGen.Tests.Backend.Reference;
using static ShardGen.Tests.Training.TrainingReference;

namespace ShardGen.Tests.Training;

/// <summary>
/// Each backward kernel on fresh random inputs against central finite differences of a double forward AND the
/// analytic double backward. Inputs are rounded to float first so every side sees the device's numbers.
/// </summary>
public sealed class BackwardKernelTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);

    public void Dispose() => _mesh.Dispose();

    private Device D => _mesh.Devices[0];

    private static double[] Fresh(System.Random rng, int n, double spread = 1) => RoundToFloat(Random(rng, n).Select(v => v * spread).ToArray());

    [Theory]
    [InlineData(NormKind.LayerNorm, 5, 13)]
    [InlineData(NormKind.RmsNorm, 4, 24)]
    [InlineData(NormKind.LayerNorm, 3, 40)]
    public void NormalizeBackwardMatchesFiniteDifferencesAndAccumulates(NormKind kind, int rows, int cols)
    {
        var rng = new System.Random(System.Random.Shared.Next());
        double eps = 1e-5;
        var x = Fresh(rng, rows * cols, 2);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(x[i] + 0.5); // a mean away from zero
        var dy = Fresh(rng, rows * cols);
        var gamma = Fresh(rng, cols);
        var beta = Fresh(rng, cols);
        var (dx, dGamma, dBeta) = NormBackward(x, dy, rows, cols, kind, gamma, eps);

        var fdX = FiniteDifferences(v => Norm(v, rows, cols, kind, gamma, beta, eps), x, dy);
        var fdGamma = FiniteDifferences(g => Norm(x, rows, cols, kind, g, beta, eps), gamma, dy);
        AssertClose(fdX.Select(v => (float)v).ToArray(), dx, 1e-7, "analytic dx vs finite differences");
        AssertClose(fdGamma.Select(v => (float)v).ToArray(), dGamma, 1e-7, "analytic dγ vs finite differences");

        // Two calls over two token shards accumulate into the same dγ/dβ, starting from a nonzero value.
        var start = Fresh(rng, cols);
        var xv = Upload(D, x, rows, cols, stride: cols + 2, offset: 1);
        var dyv = Upload(D, dy, rows, cols);
        var gv = Upload(D, gamma, 1, cols);
        var dgv = Upload(D, start, 1, cols);
        var dbv = Upload(D, start, 1, cols);
        var dxv = Alloc(D, rows, cols, stride: cols + 1);
        int half = rows / 2;
        MatrixView? beta1 = kind == NormKind.LayerNorm ? dbv : null;
        D.NormalizeBackward(xv.RowsOf(0, half), dyv.RowsOf(0, half), kind, gv, (float)eps, dxv.RowsOf(0, half), dgv, beta1);
        D.NormalizeBackward(xv.RowsOf(half, rows - half), dyv.RowsOf(half, rows - half), kind, gv, (float)eps, dxv.RowsOf(half, rows - half), dgv, beta1);
        AssertClose(Download(dxv), fdX, Tolerance, "dx vs finite differences");
        AssertClose(Download(dxv), dx, Tolerance, "dx vs analytic");
        AssertClose(Download(dgv), dGamma.Select((v, c) => v + start[c]).ToArray(), Tolerance, "dγ accumulated");
        if (kind == NormKind.LayerNorm)
        {
            var fdBeta = FiniteDifferences(b => Norm(x, rows, cols, kind, gamma, b, eps), beta, dy);
            AssertClose(Download(dbv), fdBeta.Select((v, c) => v + start[c]).ToArray(), Tolerance, "dβ accumulated vs finite differences");
            AssertClose(Download(dbv), dBeta.Select((v, c) => v + start[c]).ToArray(), Tolerance, "dβ accumulated vs analytic");
        }

        // dx may overwrite dy in place.
        D.NormalizeBackward(xv, dyv, kind, gv, (float)eps, dyv, Alloc(D, 1, cols), null);
        AssertClose(Download(dyv), dx, Tolerance, "dx written over dy");
    }

    [Fact]
    public void BiasGradientAddsColumnSums()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 9, cols = 21;
        var dy = Fresh(rng, rows * cols);
        var start = Fresh(rng, cols);
        var db = Upload(D, start, 1, cols);
        D.BiasGradient(Upload(D, dy, rows, cols, stride: 25, offset: 3), db);
        // Finite differences of Σ dy ⊙ (x + 1·b) over b.
        var fd = FiniteDifferences(b => Enumerable.Range(0, rows * cols).Select(i => b[i % cols]).ToArray(), new double[cols], dy);
        AssertClose(Download(db), fd.Select((v, c) => v + start[c]).ToArray(), 1e-5, "dBias");
    }

    public static TheoryData<Activation> Activations() => new()
    {
        Activation.None, Activation.Relu, Activation.Gelu, Activation.GeluTanh, Activation.Silu, Activation.Tanh, Activation.Sigmoid,
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void ActivationBackwardMatchesFiniteDifferences(Activation act)
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 6, cols = 37;
        var z = Fresh(rng, rows * cols, 4);
        // Relu has no derivative at 0; keep finite differences away from the kink.
        if (act == Activation.Relu) z = z.Select(v => Math.Abs(v) < 1e-3 ? 0.5 : v).ToArray();
        var dy = Fresh(rng, rows * cols);
        var fd = FiniteDifferences(v => v.Select(e => ReferenceMath.Apply(act, e)).ToArray(), z, dy);
        var analytic = z.Select((v, i) => dy[i] * Derivative(v, act)).ToArray();
        AssertClose(fd.Select(v => (float)v).ToArray(), analytic, 1e-7, "analytic vs finite differences");

        var zv = Upload(D, z, rows, cols, stride: 40);
        var dyv = Upload(D, dy, rows, cols);
        var dzv = Alloc(D, rows, cols);
        D.ActivationBackward(zv, dyv, dzv, act);
        AssertClose(Download(dzv), analytic, 1e-6, $"{act}");
        AssertClose(Download(dzv), fd, 1e-6, $"{act} vs finite differences");
        D.ActivationBackward(zv, dyv, dyv, act); // in place over dy
        AssertClose(Download(dyv), analytic, 1e-6, $"{act} in place");
    }

    [Fact]
    public void ReluBackwardAtZeroIsZeroLikePyTorch()
    {
        var zv = Upload(D, [0, -1, 2], 1, 3);
        var dz = Alloc(D, 1, 3);
        D.ActivationBackward(zv, Upload(D, [5, 5, 5], 1, 3), dz, Activation.Relu);
        Assert.Equal(new[] { 0f, 0f, 5f }, Download(dz));
    }

    [Theory]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Gelu)]
    [InlineData(Activation.GeluTanh)]
    public void GatedActivationBackwardMatchesFiniteDifferences(Activation act)
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 5, n = 19;
        var gu = Fresh(rng, rows * 2 * n, 3);
        var dOut = Fresh(rng, rows * n);
        var fd = FiniteDifferences(v => Gated(v, rows, n, act), gu, dOut);
        var analytic = new double[rows * 2 * n];
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < n; j++)
        {
            double g = gu[r * 2 * n + j], u = gu[r * 2 * n + n + j], d = dOut[r * n + j];
            analytic[r * 2 * n + j] = d * u * Derivative(g, act);
            analytic[r * 2 * n + n + j] = d * ReferenceMath.Apply(act, g);
        }
        AssertClose(fd.Select(v => (float)v).ToArray(), analytic, 1e-7, "analytic vs finite differences");
        var dgu = Alloc(D, rows, 2 * n, stride: 2 * n + 3);
        D.GatedActivationBackward(Upload(D, gu, rows, 2 * n), Upload(D, dOut, rows, n), dgu, act);
        AssertClose(Download(dgu), analytic, 1e-6, $"{act}");
        AssertClose(Download(dgu), fd, 1e-6, $"{act} vs finite differences");
    }

    [Fact]
    public void RotaryBackwardIsTheTransposeOfTheForward()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 6, heads = 3, headDim = 8, cols = heads * headDim + 5;
        float theta = 10000f;
        var positions = new[] { 0, 3, 1, 700, 4095, 12 };
        var x = Fresh(rng, rows * cols);
        var dy = Fresh(rng, rows * cols);
        // The forward with PyTorch's float angles, in double; it is linear, so finite differences are exact to rounding.
        var fd = FiniteDifferences(v => Backend.Reference.Rotary(v, rows, cols, heads, headDim, positions, theta, floatAngles: true), x, dy);
        // Analytic: the rotation by −angle (the transpose of an orthogonal map).
        var analytic = Backend.Reference.Rotary(dy, rows, cols, heads, headDim, positions.Select(p => p).ToArray(), theta, floatAngles: true);
        var inverse = BackRotate(dy, rows, cols, heads, headDim, positions, theta);
        AssertClose(fd.Select(v => (float)v).ToArray(), inverse, 1e-7, "−angle vs finite differences");
        Assert.True(RelativeError(analytic.Select(v => (float)v).ToArray(), inverse) > 1e-3, "the forward rotation is not its own transpose");

        var dv = Upload(D, dy, rows, cols, stride: cols + 1);
        D.RotaryBackward(dv, heads, headDim, positions, theta);
        AssertClose(Download(dv), inverse, 1e-6, "RotaryBackward");
        // Forward then backward is the identity.
        var xv = Upload(D, x, rows, cols);
        D.Rotary(xv, heads, headDim, positions, theta);
        D.RotaryBackward(xv, heads, headDim, positions, theta);
        AssertClose(Download(xv), x, 1e-6, "backward ∘ forward");
    }

    private static double[] BackRotate(double[] g, int rows, int cols, int heads, int headDim, int[] positions, float theta)
    {
        var y = (double[])g.Clone();
        int half = headDim / 2;
        for (int t = 0; t < rows; t++)
        for (int h = 0; h < heads; h++)
        for (int i = 0; i < half; i++)
        {
            float f = 1f / (float)Math.Pow(theta, (float)(2 * i) / headDim);
            double a = (float)(positions[t] * f);
            int at = t * cols + h * headDim + i;
            y[at] = g[at] * Math.Cos(a) + g[at + half] * Math.Sin(a);
            y[at + half] = g[at + half] * Math.Cos(a) - g[at] * Math.Sin(a);
        }
        return y;
    }

    public static TheoryData<int, int, int, bool, int[]> AttentionCases() => new()
    {
        { 2, 2, 4, false, [0, 5] },
        { 4, 2, 4, true, [0, 6, 9] },
        { 4, 1, 8, true, [0, 3, 11] },
        { 3, 3, 2, false, [0, 4, 5, 8] },
    };

    [Theory]
    [MemberData(nameof(AttentionCases))]
    public void AttentionBackwardMatchesFiniteDifferences(int heads, int kvHeads, int headDim, bool causal, int[] starts)
    {
        var rng = new System.Random(System.Random.Shared.Next());
        var shape = new AttentionShape(heads, kvHeads, headDim, causal, starts);
        int t = shape.Tokens;
        var qkv = Fresh(rng, t * shape.FusedWidth, 2);
        var dOut = Fresh(rng, t * shape.OutputWidth);
        var fd = FiniteDifferences(v => Attention(v, shape), qkv, dOut);
        var analytic = AttentionBackward(qkv, dOut, shape);
        AssertClose(fd.Select(v => (float)v).ToArray(), analytic, 1e-7, "analytic vs finite differences");

        var dq = Alloc(D, t, shape.FusedWidth, stride: shape.FusedWidth + 3, offset: 2);
        D.Upload(ToFloat(Random(rng, t * (shape.FusedWidth + 3))), shape.FusedWidth + 3, dq); // stale values are overwritten
        D.AttentionBackward(Upload(D, qkv, t, shape.FusedWidth, stride: shape.FusedWidth + 1), Upload(D, dOut, t, shape.OutputWidth), dq, shape);
        AssertClose(Download(dq), analytic, Tolerance, "dQkv vs analytic");
        AssertClose(Download(dq), fd, Tolerance, "dQkv vs finite differences");
    }

    public static TheoryData<int, int, int, bool, int[], int> BlockedAttentionCases() => new()
    {
        // Sequences longer than a 96-row block, odd lengths, GQA, packed; one and three threads per device.
        { 4, 2, 8, true, [0, 200, 297], 1 },
        { 4, 2, 8, true, [0, 200, 297], 3 },
        { 3, 1, 12, false, [0, 131, 133, 230], 1 },
        { 2, 2, 16, true, [0, 97], 2 },
        { 6, 3, 4, false, [0, 1, 193], 3 },
    };

    /// <summary>Sizes past the kernel's row blocks, against the analytic double backward (finite differences would take minutes).</summary>
    [Theory]
    [MemberData(nameof(BlockedAttentionCases))]
    public void AttentionBackwardOverRowBlocksMatchesTheAnalyticBackward(int heads, int kvHeads, int headDim, bool causal, int[] starts, int threads)
    {
        var rng = new System.Random(System.Random.Shared.Next());
        var shape = new AttentionShape(heads, kvHeads, headDim, causal, starts);
        int t = shape.Tokens;
        var qkv = Fresh(rng, t * shape.FusedWidth, 2);
        var dOut = Fresh(rng, t * shape.OutputWidth);
        var analytic = AttentionBackward(qkv, dOut, shape);
        using var mesh = CpuDeviceMesh.Create(1, threads);
        var device = mesh.Devices[0];
        var dq = Alloc(device, t, shape.FusedWidth, stride: shape.FusedWidth + 3, offset: 2);
        device.Upload(ToFloat(Random(rng, t * (shape.FusedWidth + 3))), shape.FusedWidth + 3, dq); // stale values are overwritten
        device.AttentionBackward(Upload(device, qkv, t, shape.FusedWidth, stride: shape.FusedWidth + 1), Upload(device, dOut, t, shape.OutputWidth), dq, shape);
        AssertClose(Download(dq), analytic, Tolerance, $"dQkv vs analytic on {threads} thread(s)");
    }

    /// <summary>
    /// Causal: a query's gradient never reads a later token. NaN in a later token's key and value leaves the earlier
    /// queries' dq rows equal to those of a finite input (their rows in a block past the first, and in the diagonal).
    /// </summary>
    [Fact]
    public void CausalAttentionBackwardNeverReadsALaterTokenIntoAQueryGradient()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        var shape = new AttentionShape(4, 2, 8, true, [0, 200]);
        int t = shape.Tokens, w = shape.FusedWidth, bad = 150;
        var qkv = Fresh(rng, t * w, 2);
        var dOut = Fresh(rng, t * shape.OutputWidth);
        var analytic = AttentionBackward(qkv, dOut, shape);
        var poisoned = (double[])qkv.Clone();
        for (int c = shape.QueryHeads * shape.HeadDim; c < w; c++) poisoned[bad * w + c] = double.NaN;
        var dq = Alloc(D, t, w);
        D.AttentionBackward(Upload(D, poisoned, t, w), Upload(D, dOut, t, shape.OutputWidth), dq, shape);
        var got = Download(dq);
        int qCols = shape.QueryHeads * shape.HeadDim;
        var rows = Enumerable.Range(0, bad).SelectMany(r => Enumerable.Range(0, qCols).Select(c => r * w + c)).ToArray();
        AssertClose(rows.Select(i => got[i]).ToArray(), rows.Select(i => analytic[i]).ToArray(), Tolerance, "dq of the tokens before the NaN");
    }

    [Fact]
    public void ScatterAddRowsAccumulatesTheShardsRows()
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int firstRow = 5, tableRows = 4, cols = 11;
        int[] ids = [5, 8, 9, 4, 0, 6, 5, 5, int.MaxValue, 7];
        var dOut = Fresh(rng, ids.Length * cols);
        var start = Fresh(rng, tableRows * cols);
        var dt = Upload(D, start, tableRows, cols, stride: cols + 2);
        D.ScatterAddRows(ids, firstRow, Upload(D, dOut, ids.Length, cols), dt);
        // Finite differences of Σ dOut ⊙ Gather(table) over the shard's table.
        var fd = FiniteDifferences(table => Backend.Reference.Gather(table, tableRows, cols, ids, firstRow), new double[tableRows * cols], dOut);
        AssertClose(Download(dt), fd.Select((v, i) => v + start[i]).ToArray(), 1e-5, "dTable");
    }
}
