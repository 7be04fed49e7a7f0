using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// erf for the exact GELU (.NET has none). Evaluated in double so the float result is good to ~3e-8
/// absolute: a Maclaurin series for |x| &lt; 1.5, and for |x| ≥ 1.5 the Chebyshev-fitted erfc of Numerical
/// Recipes (relative error 1.2e-7 of erfc, which is below 0.034 there, so below 4e-9 absolute).
/// </summary>
internal static class Erf
{
    private const double Split = 1.5;
    private const int Terms = 20;

    // erf(x) = x · Σ C[n]·x^(2n) with C[n] = 2/√π · (−1)^n / (n!·(2n+1)); 20 terms reach 1e-12 at |x| = 1.5.
    private static readonly double[] C = BuildSeries();

    private static double[] BuildSeries()
    {
        var c = new double[Terms];
        double factorial = 1;
        for (int n = 0; n < Terms; n++)
        {
            if (n > 0) factorial *= n;
            c[n] = 2 / Math.Sqrt(Math.PI) * (n % 2 == 0 ? 1 : -1) / (factorial * (2 * n + 1));
        }
        return c;
    }

    public static double Evaluate(double x)
    {
        double z = Math.Abs(x);
        if (double.IsNaN(x)) return x;
        if (z < Split)
        {
            double x2 = x * x, s = C[Terms - 1];
            for (int n = Terms - 2; n >= 0; n--) s = s * x2 + C[n];
            return x * s;
        }
        double t = 1 / (1 + 0.5 * z);
        double tail = t * Math.Exp(-z * z + ErfcPolynomial(t));
        return x < 0 ? tail - 1 : 1 - tail;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector512<double> Evaluate(Vector512<double> x)
    {
        var z = Vector512.Abs(x);
        var x2 = x * x;
        var s = Vector512.Create(C[Terms - 1]);
        for (int n = Terms - 2; n >= 0; n--) s = Vector512.FusedMultiplyAdd(s, x2, Vector512.Create(C[n]));
        var series = x * s;
        var t = Vector512<double>.One / (Vector512<double>.One + Vector512.Create(0.5) * z);
        var tail = t * Vector512.Exp(ErfcPolynomial(t) - z * z);
        var far = Vector512.CopySign(Vector512<double>.One - tail, x);
        return Vector512.ConditionalSelect(Vector512.LessThan(z, Vector512.Create(Split)), series, far);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector256<double> Evaluate(Vector256<double> x)
    {
        var z = Vector256.Abs(x);
        var x2 = x * x;
        var s = Vector256.Create(C[Terms - 1]);
        for (int n = Terms - 2; n >= 0; n--) s = Vector256.FusedMultiplyAdd(s, x2, Vector256.Create(C[n]));
        var series = x * s;
        var t = Vector256<double>.One / (Vector256<double>.One + Vector256.Create(0.5) * z);
        var tail = t * Vector256.Exp(ErfcPolynomial(t) - z * z);
        var far = Vector256.CopySign(Vector256<double>.One - tail, x);
        return Vector256.ConditionalSelect(Vector256.LessThan(z, Vector256.Create(Split)), series, far);
    }

    // Numerical Recipes erfcc: erfc(z) ≈ t·exp(−z² + P(t)), t = 1/(1 + z/2).
    private static double ErfcPolynomial(double t) =>
        -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
        + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));

    private static Vector512<double> ErfcPolynomial(Vector512<double> t)
    {
        var p = Vector512.Create(0.17087277);
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-0.82215223));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1.48851587));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-1.13520398));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(0.27886807));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-0.18628806));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(0.09678418));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(0.37409196));
        p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1.00002368));
        return Vector512.FusedMultiplyAdd(p, t, Vector512.Create(-1.26551223));
    }

    private static Vector256<double> ErfcPolynomial(Vector256<double> t)
    {
        var p = Vector256.Create(0.17087277);
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-0.82215223));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.48851587));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.13520398));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.27886807));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-0.18628806));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.09678418));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.37409196));
        p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.00002368));
        return Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.26551223));
    }
}
