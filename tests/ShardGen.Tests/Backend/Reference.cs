using System;
using ShardGen.Devices;

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

    public static double Activate(double x, Activation act) => act switch
    {
        Activation.None => x,
        Activation.Relu => Math.Max(0, x),
        Activation.Gelu => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        Activation.GeluTanh => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        Activation.Silu => x / (1 + Math.Exp(-x)),
        Activation.Tanh => Math.Tanh(x),
        Activation.Sigmoid => 1 / (1 + Math.Exp(-x)),
        _ => throw new ArgumentOutOfRangeException(nameof(act)),
    };

    /// <summary>
    /// High-precision erf, independent of the kernel's: the Maclaurin series summed to convergence for
    /// |x| &lt; 3, else the continued fraction of erfc (60 levels, far past double precision there).
    /// </summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        if (ax < 3)
        {
            double sum = x, term = x;
            for (int n = 1; n < 300; n++)
            {
                term *= -x * x / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-18 * Math.Abs(sum)) break;
            }
            return 2 / Math.Sqrt(Math.PI) * sum;
        }
        double f = 0;
        for (int k = 60; k >= 1; k--) f = k / 2.0 / (ax + f);
        double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        return Math.Sign(x) * (1 - erfc);
    }

    /// <summary>Per-row LayerNorm/RmsNorm in double; LayerNorm's variance is the population variance (as PyTorch).</summary>
    public static double[] Normalize(double[] x, int rows, int cols, NormKind kind, double[] gamma, double[]? beta, double epsilon)
    {
        var y = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, square = 0;
            for (int c = 0; c < cols; c++) mean += x[r * cols + c];
            mean /= cols;
            double centre = kind == NormKind.LayerNorm ? mean : 0;
            for (int c = 0; c < cols; c++) square += (x[r * cols + c] - centre) * (x[r * cols + c] - centre);
            double inv = 1 / Math.Sqrt(square / cols + epsilon);
            for (int c = 0; c < cols; c++)
            {
                double v = (x[r * cols + c] - centre) * inv * gamma[c];
                if (kind == NormKind.LayerNorm && beta != null) v += beta[c];
                y[r * cols + c] = v;
            }
        }
        return y;
    }

    /// <summary>
    /// Scaled dot-product attention in double, straight from the definition: per sequence and query head,
    /// softmax over the visible keys of q·k/√d, then the weighted sum of values.
    /// </summary>
    public static double[] Attention(double[] qkv, AttentionShape shape)
    {
        int d = shape.HeadDim, width = shape.FusedWidth, outWidth = shape.OutputWidth;
        int group = shape.QueryHeads / shape.KvHeads;
        var output = new double[shape.Tokens * outWidth];
        var p = new double[shape.Tokens];
        for (int s = 0; s + 1 < shape.SequenceStarts.Length; s++)
        {
            int start = shape.SequenceStarts[s], end = shape.SequenceStarts[s + 1];
            for (int h = 0; h < shape.QueryHeads; h++)
            {
                int qCol = h * d, kCol = (shape.QueryHeads + h / group) * d, vCol = (shape.QueryHeads + shape.KvHeads + h / group) * d;
                for (int i = start; i < end; i++)
                {
                    int last = shape.Causal ? i : end - 1;
                    double max = double.NegativeInfinity, sum = 0;
                    for (int j = start; j <= last; j++)
                    {
                        double dot = 0;
                        for (int t = 0; t < d; t++) dot += qkv[i * width + qCol + t] * qkv[j * width + kCol + t];
                        p[j] = dot / Math.Sqrt(d);
                        max = Math.Max(max, p[j]);
                    }
                    for (int j = start; j <= last; j++) sum += p[j] = Math.Exp(p[j] - max);
                    for (int t = 0; t < d; t++)
                    {
                        double o = 0;
                        for (int j = start; j <= last; j++) o += p[j] * qkv[j * width + vCol + t];
                        output[i * outWidth + qCol + t] = o / sum;
                    }
                }
            }
        }
        return output;
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
