using System;
using System.Runtime.CompilerServices;
using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// exp for the kernels, from arithmetic that every ILGPU backend compiles. ILGPU's PTX and OpenCL backends have no
/// <c>MathF.Exp</c>/<c>Math.Exp</c> without the ILGPU.Algorithms package (compiling one fails with "ExpF does not
/// have an intrinsic implementation"), and the CPU accelerator would run the host's exp instead: one software exp
/// keeps every backend on the same numbers, so the CPU-accelerator tests check what the GPU runs.
/// </summary>
internal static class KernelMath
{
    private const double Log2E = 1.4426950408889634;
    private const double Ln2Hi = 6.93147180369123816490e-01; // ln 2 split so that n·Ln2Hi is exact for |n| < 2^11
    private const double Ln2Lo = 1.90821492927058770002e-10;

    /// <summary>float exp through the double one: correctly rounded but for rare ties, like the host's MathF.Exp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x) => (float)Exp((double)x);

    /// <summary>
    /// e^x to about 1 ulp (the tests allow 2): x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite), e^r by its Taylor series to r¹³ (remainder
    /// below 2⁻⁵⁸), then 2ⁿ applied in two exact halves so that subnormal results are right too.
    /// </summary>
    public static double Exp(double x)
    {
        if (x > 709.782712893384) return double.PositiveInfinity;
        if (!(x >= -745.1332191019412)) return x < 0 ? 0.0 : x; // underflow to 0, or NaN passed through
        double n = Math.Floor(x * Log2E + 0.5);
        double r = x - n * Ln2Hi - n * Ln2Lo;
        double p = 1.0 / 6227020800.0;              // 1/13!
        p = p * r + 1.0 / 479001600.0;
        p = p * r + 1.0 / 39916800.0;
        p = p * r + 1.0 / 3628800.0;
        p = p * r + 1.0 / 362880.0;
        p = p * r + 1.0 / 40320.0;
        p = p * r + 1.0 / 5040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        int k = (int)n, half = k / 2;
        return p * PowerOfTwo(half) * PowerOfTwo(k - half);
    }

    /// <summary>2^k for −1022 ≤ k ≤ 1023, built from its exponent bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double PowerOfTwo(int k) => Interop.IntAsFloat((ulong)(long)(k + 1023) << 52);
}
