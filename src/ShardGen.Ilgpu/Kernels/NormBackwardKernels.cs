using System;
using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// Backward of LayerNorm/RmsNorm in three launches, so dx may overwrite dy: each row's mean and 1/σ into scratch (one
/// thread per row, double), then dγ/dβ (one thread per column over the rows, in order), then dx (one thread per row).
/// Same formulas as the CPU backend's NormalizationBackward.
/// </summary>
internal static class NormBackwardKernels
{
    public static void Statistics(Index1D r, NormBackwardParams p, ArrayView<float> x, ArrayView<float> stats)
    {
        int row = p.X.Offset + r * p.X.Stride, n = p.X.Cols;
        double mean = 0;
        if (p.Layer != 0)
        {
            for (int j = 0; j < n; j++) mean += x[row + j];
            mean /= n;
        }
        double squares = 0;
        for (int j = 0; j < n; j++)
        {
            double c = x[row + j] - mean;
            squares += c * c;
        }
        stats[2 * r] = (float)mean;
        stats[2 * r + 1] = (float)(1 / Math.Sqrt(squares / n + p.Epsilon));
    }

    public static void Parameters(Index1D c, NormBackwardParams p, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> stats,
        ArrayView<float> dGamma, ArrayView<float> dBeta)
    {
        double g = 0, b = 0;
        for (int r = 0; r < p.Rows; r++)
        {
            double d = dy[p.Dy.Offset + r * p.Dy.Stride + c];
            g += d * (x[p.X.Offset + r * p.X.Stride + c] - (double)stats[2 * r]) * stats[2 * r + 1];
            b += d;
        }
        dGamma[p.DGamma.Offset + c] = (float)(dGamma[p.DGamma.Offset + c] + g);
        if (p.HasBeta != 0) dBeta[p.DBeta.Offset + c] = (float)(dBeta[p.DBeta.Offset + c] + b);
    }

    public static void Input(Index1D r, NormBackwardParams p, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> gamma,
        ArrayView<float> stats, ArrayView<float> dx)
    {
        int n = p.X.Cols, xr = p.X.Offset + r * p.X.Stride, dr = p.Dy.Offset + r * p.Dy.Stride, or = p.Dx.Offset + r * p.Dx.Stride;
        double mean = stats[2 * r], rstd = stats[2 * r + 1], sumG = 0, sumGx = 0;
        for (int j = 0; j < n; j++)
        {
            double g = (double)dy[dr + j] * gamma[p.Gamma.Offset + j];
            sumG += g;
            sumGx += g * (x[xr + j] - mean) * rstd;
        }
        double a = p.Layer != 0 ? sumG / n : 0, b = sumGx / n;
        for (int j = 0; j < n; j++)
        {
            double xhat = (x[xr + j] - mean) * rstd;
            dx[or + j] = (float)(rstd * ((double)dy[dr + j] * gamma[p.Gamma.Offset + j] - a - xhat * b));
        }
    }
}

internal struct NormBackwardParams
{
    public ViewLayout X, Dy, Dx, Gamma, DGamma, DBeta;
    public int Rows, Layer, HasBeta;
    public float Epsilon;
}
