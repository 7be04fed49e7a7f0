using System;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// The vocab-parallel cross-entropy pieces over 1..4 uneven shards of a 1003-word vocabulary, assembled with host-side
/// stand-ins of the all-reduces, against the unsharded loss and gradient in double.
/// </summary>
public sealed class CrossEntropyKernelTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(4);

    public void Dispose() => _mesh.Dispose();

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(4, false)]
    public void ShardedLossAndGradientEqualTheUnshardedOnes(int shards, bool maximaSideBySide)
    {
        var rng = new System.Random(System.Random.Shared.Next());
        int rows = 7, vocab = 1003;
        // Large logits: exp without the max shift would overflow float.
        var logits = RoundToFloat(Random(rng, rows * vocab).Select(v => 60 * v).ToArray());
        var targets = Enumerable.Range(0, rows).Select(_ => rng.Next(vocab)).ToArray();
        targets[0] = 0;
        targets[1] = vocab - 1;
        var (loss, grad) = TrainingReference.CrossEntropy(logits, rows, vocab, targets);

        // Uneven shards: the first vocab % P get one column more.
        var first = new int[shards + 1];
        for (int s = 0; s < shards; s++) first[s + 1] = first[s] + vocab / shards + (s < vocab % shards ? 1 : 0);
        var views = new MatrixView[shards];
        var maxima = new double[rows * shards];
        var target = new double[rows];
        for (int s = 0; s < shards; s++)
        {
            var d = _mesh.Devices[s];
            int cols = first[s + 1] - first[s];
            var part = new double[rows * cols];
            for (int t = 0; t < rows; t++) Array.Copy(logits, t * vocab + first[s], part, t * cols, cols);
            views[s] = Upload(d, part, rows, cols, stride: cols + 1);
            var max = Alloc(d, rows, 1);
            var tl = Alloc(d, rows, 2).Columns(1, 1); // a strided column
            d.LogitStatistics(views[s], targets, first[s], max, tl);
            var m = Download(max);
            var l = Download(tl);
            for (int t = 0; t < rows; t++)
            {
                maxima[t * shards + s] = m[t];
                target[t] += l[t]; // all-reduce (sum): one shard holds each target
            }
        }
        // The global max: either all-reduced (one column) or the shards' maxima side by side (an all-gather).
        int k = maximaSideBySide ? shards : 1;
        var globalMax = maximaSideBySide ? maxima
            : Enumerable.Range(0, rows).Select(t => Enumerable.Range(0, shards).Max(s => maxima[t * shards + s])).ToArray();
        var sums = new double[rows];
        var maxViews = new MatrixView[shards];
        for (int s = 0; s < shards; s++)
        {
            var d = _mesh.Devices[s];
            maxViews[s] = Upload(d, globalMax, rows, k);
            var se = Alloc(d, rows, 1);
            d.LogitSumExp(views[s], maxViews[s], se);
            var got = Download(se);
            for (int t = 0; t < rows; t++) sums[t] += got[t];
        }
        double mean = 0;
        for (int t = 0; t < rows; t++)
        {
            double m = Enumerable.Range(0, shards).Max(s => maxima[t * shards + s]);
            mean += Math.Log((float)sums[t]) + m - target[t];
        }
        mean /= rows;
        Assert.True(Math.Abs(mean - loss) <= 1e-5 * Math.Abs(loss), $"loss {mean} vs {loss} over {shards} shards");

        var dLogits = new float[rows * vocab];
        for (int s = 0; s < shards; s++)
        {
            var d = _mesh.Devices[s];
            int cols = first[s + 1] - first[s];
            var sumView = Upload(d, sums.Select(v => (double)(float)v).ToArray(), rows, 1);
            var dl = Alloc(d, rows, cols);
            d.CrossEntropyGradient(views[s], targets, first[s], maxViews[s], sumView, 1f / rows, dl);
            var got = Download(dl);
            for (int t = 0; t < rows; t++) Array.Copy(got, t * cols, dLogits, t * vocab + first[s], cols);
            // In place over the logits gives the same numbers.
            d.CrossEntropyGradient(views[s], targets, first[s], maxViews[s], sumView, 1f / rows, views[s]);
            Assert.Equal(got, Download(views[s]));
        }
        AssertClose(dLogits, grad, 1e-5, $"dLogits over {shards} shards");
    }

    [Fact]
    public void BadShapesThrowBeforeEnqueue()
    {
        var d = _mesh.Devices[0];
        var logits = Alloc(d, 3, 10);
        var v = Alloc(d, 3, 1);
        Backend.NormalizationTests.AssertThrows(() => d.LogitStatistics(logits, [1, 2], 0, v, Alloc(d, 3, 1)), "2 targets", "3 rows");
        Backend.NormalizationTests.AssertThrows(() => d.LogitStatistics(logits, [1, 2, -1], 0, v, Alloc(d, 3, 1)), "targets[2] is -1");
        Backend.NormalizationTests.AssertThrows(() => d.LogitStatistics(logits, [1, 2, 3], 0, Alloc(d, 1, 3), Alloc(d, 3, 1)), "rowMax must be 3×1");
        Backend.NormalizationTests.AssertThrows(() => d.LogitSumExp(logits, Alloc(d, 2, 1), v), "rowMax must be 3×k");
        Backend.NormalizationTests.AssertThrows(() => d.LogitSumExp(logits, v, logits.Columns(0, 1)), "sumExp must not overlap");
        Backend.NormalizationTests.AssertThrows(() => d.CrossEntropyGradient(logits, [1, 2, 3], 0, v, Alloc(d, 3, 1), float.NaN, Alloc(d, 3, 10)), "scale");
        Backend.NormalizationTests.AssertThrows(() => d.CrossEntropyGradient(logits, [1, 2, 3], 0, v, Alloc(d, 3, 1), 1f, Alloc(d, 3, 9)), "dLogits must be 3×10");
        Backend.NormalizationTests.AssertThrows(() => d.CrossEntropyGradient(logits, [1, 2, 3], -1, v, Alloc(d, 3, 1), 1f, Alloc(d, 3, 10)), "first vocab column");
        d.Synchronize();
    }
}
