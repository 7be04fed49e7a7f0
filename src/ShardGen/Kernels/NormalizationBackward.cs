using System;

namespace ShardGen.Kernels;

/// <summary>
/// Backward of LayerNorm and RmsNorm, one row at a time from the forward's input (statistics recomputed in double).
/// With x̂ = (x − μ)·r (μ = 0 for RmsNorm), g = dy ⊙ γ: dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)), the mean(g) term only for
/// LayerNorm. The row's dγ (dy ⊙ x̂) and dβ (dy) terms are added into double accumulators in the same first pass, so
/// dx may overwrite dy.
/// </summary>
internal static unsafe class NormalizationBackward
{
    public static void Row(float* x, float* dy, float* dx, int n, float* gamma, float epsilon, bool layer,
        double* dGamma, double* dBeta)
    {
        if (n == 0) return;
        double mean = 0;
        if (layer)
        {
            for (int j = 0; j < n; j++) mean += x[j];
            mean /= n;
        }
        double squares = 0;
        for (int j = 0; j < n; j++)
        {
            double c = x[j] - mean;
            squares += c * c;
        }
        double rstd = 1 / Math.Sqrt(squares / n + epsilon);
        double sumG = 0, sumGx = 0;
        for (int j = 0; j < n; j++)
        {
            double xhat = (x[j] - mean) * rstd, d = dy[j], g = d * gamma[j];
            sumG += g;
            sumGx += g * xhat;
            dGamma[j] += d * xhat;
            if (dBeta != null) dBeta[j] += d;
        }
        double a = layer ? sumG / n : 0, b = sumGx / n;
        for (int j = 0; j < n; j++)
        {
            double xhat = (x[j] - mean) * rstd;
            dx[j] = (float)(rstd * ((double)dy[j] * gamma[j] - a - xhat * b));
        }
    }
}
