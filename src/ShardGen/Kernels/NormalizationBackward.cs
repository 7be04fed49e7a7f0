using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// Backward of LayerNorm and RmsNorm, one row at a time from the forward's input (statistics recomputed in double).
/// With x̂ = (x − μ)·r (μ = 0 for RmsNorm), g = dy ⊙ γ: dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)), the mean(g) term only for
/// LayerNorm. The row's dγ (dy ⊙ x̂) and dβ (dy) terms are added into double accumulators in the same first pass, so
/// dx may overwrite dy. Eight floats at a time, widened to two vectors of doubles (the same double arithmetic per
/// element as the scalar tail; only the order of the row sums differs).
/// </summary>
internal static unsafe class NormalizationBackward
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(float* x, float* dy, float* dx, int n, float* gamma, float epsilon, bool layer,
        double* dGamma, double* dBeta)
    {
        if (n == 0) return;
        bool vector = Vector256.IsHardwareAccelerated;
        int full = vector ? n & ~7 : 0;
        double mean = 0;
        if (layer)
        {
            var acc = Vector256<double>.Zero;
            for (int j = 0; j < full; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(x + j));
                acc += lo + hi;
            }
            mean = Vector256.Sum(acc);
            for (int j = full; j < n; j++) mean += x[j];
            mean /= n;
        }
        var mu = Vector256.Create(mean);
        var squaresV = Vector256<double>.Zero;
        for (int j = 0; j < full; j += 8)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Load(x + j));
            lo -= mu;
            hi -= mu;
            squaresV += lo * lo + hi * hi;
        }
        double squares = Vector256.Sum(squaresV);
        for (int j = full; j < n; j++)
        {
            double c = x[j] - mean;
            squares += c * c;
        }
        double rstd = 1 / Math.Sqrt(squares / n + epsilon);
        var r = Vector256.Create(rstd);
        Vector256<double> sumGV = Vector256<double>.Zero, sumGxV = Vector256<double>.Zero;
        for (int j = 0; j < full; j += 8)
        {
            var (xl, xh) = Vector256.Widen(Vector256.Load(x + j));
            var (dl, dh) = Vector256.Widen(Vector256.Load(dy + j));
            var (gl, gh) = Vector256.Widen(Vector256.Load(gamma + j));
            Vector256<double> hatL = (xl - mu) * r, hatH = (xh - mu) * r, pl = dl * gl, ph = dh * gh;
            sumGV += pl + ph;
            sumGxV += pl * hatL + ph * hatH;
            Vector256.Store(Vector256.Load(dGamma + j) + dl * hatL, dGamma + j);
            Vector256.Store(Vector256.Load(dGamma + j + 4) + dh * hatH, dGamma + j + 4);
            if (dBeta != null)
            {
                Vector256.Store(Vector256.Load(dBeta + j) + dl, dBeta + j);
                Vector256.Store(Vector256.Load(dBeta + j + 4) + dh, dBeta + j + 4);
            }
        }
        double sumG = Vector256.Sum(sumGV), sumGx = Vector256.Sum(sumGxV);
        for (int j = full; j < n; j++)
        {
            double xhat = (x[j] - mean) * rstd, d = dy[j], g = d * gamma[j];
            sumG += g;
            sumGx += g * xhat;
            dGamma[j] += d * xhat;
            if (dBeta != null) dBeta[j] += d;
        }
        double a = layer ? sumG / n : 0, b = sumGx / n;
        var av = Vector256.Create(a);
        var bv = Vector256.Create(b);
        for (int j = 0; j < full; j += 8)
        {
            var (xl, xh) = Vector256.Widen(Vector256.Load(x + j));
            var (dl, dh) = Vector256.Widen(Vector256.Load(dy + j));
            var (gl, gh) = Vector256.Widen(Vector256.Load(gamma + j));
            var lo = r * (dl * gl - av - (xl - mu) * r * bv);
            var hi = r * (dh * gh - av - (xh - mu) * r * bv);
            Vector256.Store(Vector256.Narrow(lo, hi), dx + j);
        }
        for (int j = full; j < n; j++)
        {
            double xhat = (x[j] - mean) * rstd;
            dx[j] = (float)(rstd * ((double)dy[j] * gamma[j] - a - xhat * b));
        }
    }
}
