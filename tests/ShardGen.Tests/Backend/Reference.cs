using System;
using ShardGen.Devices;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>Independent double-precision references and host/device helpers for the backend tests.</summary>
internal static class Reference
{
    public static double[] Random(Random rng, int count)
    {
        var x = new double[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextDouble() * 2 - 1;
        return x;
    }

    public static float[] ToFloat(double[] x) => Array.ConvertAll(x, v => (float)v);

    /// <summary>Rounds through float so the reference sees exactly the values the device got.</summary>
    public static double[] RoundToFloat(double[] x) => Array.ConvertAll(x, v => (double)(float)v);

    /// <summary>max |actual − expected| / max |expected| (absolute when expected is all zero).</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            if (double.IsNaN(actual[i])) return double.PositiveInfinity;
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double tolerance = 1e-5, string what = "")
    {
        double err = RelativeError(actual, expected);
        Assert.True(err < tolerance, $"{what}: relative error {err:E3} ≥ {tolerance:E1}");
    }

    /// <summary>Row-major [rows, cols] element (r, c) of op(X) where X is stored [storedRows, storedCols].</summary>
    public static double Op(double[] x, int storedCols, bool transpose, int r, int c) =>
        transpose ? x[c * storedCols + r] : x[r * storedCols + c];

    public static double[] MatMul(double[] a, int aCols, bool ta, double[] b, int bCols, bool tb, int m, int n, int k)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++) s += Op(a, aCols, ta, i, p) * Op(b, bCols, tb, p, j);
            c[i * n + j] = s;
        }
        return c;
    }

    // The activations, erf, norms and attention live in Reference/ (xunit-free, shared with the samples and
    // the MPI host); these adapt them to the flat row-major arrays of the backend tests.
    public static double Activate(double x, Activation act) => ReferenceMath.Apply(act, x);

    /// <inheritdoc cref="ReferenceMath.Erf"/>
    public static double Erf(double x) => ReferenceMath.Erf(x);

    /// <summary>Per-row LayerNorm/RmsNorm in double; LayerNorm's variance is the population variance (as PyTorch).</summary>
    public static double[] Normalize(double[] x, int rows, int cols, NormKind kind, double[] gamma, double[]? beta, double epsilon) =>
        Flatten(TransformerReference.Norm(ToMatrix(x, rows, cols), kind, gamma, beta, epsilon));

    /// <summary>Scaled dot-product attention in double, straight from the definition (see TransformerReference.Attention).</summary>
    public static double[] Attention(double[] qkv, AttentionShape shape) =>
        Flatten(TransformerReference.Attention(ToMatrix(qkv, shape.Tokens, shape.FusedWidth),
            shape.QueryHeads, shape.KvHeads, shape.HeadDim, shape.Causal, shape.SequenceStarts, shape.Window));

    /// <summary>
    /// HF rotate_half in double. With <paramref name="floatAngles"/> the inverse frequency and the angle are rounded to
    /// float32 as HF's float32 model forms them (the convention the checkpoints' logits assume); else exact angles.
    /// </summary>
    public static double[] Rotary(double[] x, int rows, int cols, int heads, int headDim, int[] positions, float theta, bool floatAngles)
    {
        var y = new double[rows * cols];
        Array.Copy(x, y, rows * cols);
        int half = headDim / 2;
        for (int t = 0; t < rows; t++)
        for (int h = 0; h < heads; h++)
        for (int i = 0; i < half; i++)
        {
            double angle;
            if (floatAngles)
            {
                float f = 1f / (float)Math.Pow(theta, (float)(2 * i) / headDim);
                angle = (float)(positions[t] * f);
            }
            else angle = positions[t] * Math.Pow(theta, -2.0 * i / headDim);
            int at = t * cols + h * headDim + i;
            double x1 = x[at], x2 = x[at + half];
            y[at] = x1 * Math.Cos(angle) - x2 * Math.Sin(angle);
            y[at + half] = x2 * Math.Cos(angle) + x1 * Math.Sin(angle);
        }
        return y;
    }

    /// <summary>Row lookup of a shard holding rows [firstRow, firstRow + tableRows): zeros for ids outside it.</summary>
    public static double[] Gather(double[] table, int tableRows, int cols, int[] ids, int firstRow)
    {
        var y = new double[ids.Length * cols];
        for (int t = 0; t < ids.Length; t++)
        {
            long row = (long)ids[t] - firstRow;
            if (row < 0 || row >= tableRows) continue;
            for (int c = 0; c < cols; c++) y[t * cols + c] = (float)table[row * cols + c];
        }
        return y;
    }

    private static double[,] ToMatrix(double[] x, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                m[r, c] = x[r * cols + c];
        return m;
    }

    private static double[] Flatten(double[,] m)
    {
        int rows = m.GetLength(0), cols = m.GetLength(1);
        var x = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                x[r * cols + c] = m[r, c];
        return x;
    }

    /// <summary>A view of rows×cols at <paramref name="offset"/> with <paramref name="stride"/>, in a fresh buffer.</summary>
    public static MatrixView Alloc(Device d, int rows, int cols, int stride = -1, int offset = 0)
    {
        if (stride < 0) stride = cols;
        int length = offset + (rows == 0 ? 0 : (rows - 1) * stride + cols);
        return new MatrixView(d.Allocate(length), offset, rows, cols, stride);
    }

    public static MatrixView Upload(Device d, double[] values, int rows, int cols, int stride = -1, int offset = 0)
    {
        var v = Alloc(d, rows, cols, stride, offset);
        d.Upload(ToFloat(values), cols, v);
        return v;
    }

    public static float[] Download(MatrixView v)
    {
        var host = new float[v.Rows * v.Cols];
        v.Device.Download(v, host, v.Cols);
        return host;
    }
}
