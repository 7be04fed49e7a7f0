using System;
using ShardGen.Kernels;

namespace ShardGen.Tests.Backend;

/// <summary>
/// One GEMM with a bfloat16 B (<see cref="GemmArgs.B16"/>) on <see cref="GemmKernel"/>, on fresh random operands, and its
/// double reference on the widened weights. B sits <see cref="Case.Shift"/> elements past a 64-byte line, every other
/// element of its buffer (before, between and after its rows) is NaN, ±Inf or the largest finite bfloat16, and A's and
/// C's row gaps are NaN and a sentinel: none may reach C, and C's gaps must come back untouched.
/// </summary>
internal static unsafe class Bf16Gemm
{
    public sealed record Case(int M, int N, int K, bool TransB, int LdbPad = 0, int Shift = 0, bool TransA = false,
        bool Accumulate = false, bool Bias = false, Activation Activation = Activation.None, int Seed = 1)
    {
        public override string ToString() =>
            $"{M}x{N}x{K} tb={TransB} ta={TransA} ldb+{LdbPad} shift={Shift} acc={Accumulate} bias={Bias} {Activation} seed={Seed}";
    }

    private const float Sentinel = 42f;

    /// <summary>The bfloat16 nearest <paramref name="x"/> (ties to even), as stored: the upper 16 bits of a float32.</summary>
    public static ushort Round(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    public static double Widen(ushort x) => BitConverter.UInt32BitsToSingle((uint)x << 16);

    private static readonly ushort[] Poison = [0x7FC0, 0x7F80, 0xFF80, 0x7F7F, 0xFFC1];

    /// <summary>
    /// Runs the case (team null: the calling thread alone); returns C, the reference, and the largest Σ|a||b| (+|c|, |bias|)
    /// of an output, the scale of float32's rounding error; and checks C's gaps.
    /// </summary>
    public static (float[] Actual, double[] Expected, double Magnitude) Run(Case s, KernelThreadTeam? team)
    {
        var rng = new Random(s.Seed);
        int m = s.M, n = s.N, k = s.K;
        int bRows = s.TransB ? n : k, bCols = s.TransB ? k : n, ldb = bCols + s.LdbPad;
        int aRows = s.TransA ? k : m, aCols = s.TransA ? m : k, lda = aCols + 2, ldc = n + 3;

        // B: the matrix inside a poisoned buffer whose start is on a 64-byte line (32 elements of slack to find it).
        var buffer = GC.AllocateUninitializedArray<ushort>(32 + s.Shift + Math.Max(0, bRows - 1) * ldb + bCols + 64, pinned: true);
        for (int i = 0; i < buffer.Length; i++) buffer[i] = Poison[i % Poison.Length];
        var b = new double[bRows * bCols];
        fixed (ushort* pinned = buffer)
        {
            int start = (int)((64 - ((nint)pinned & 63)) & 63) / sizeof(ushort) + s.Shift;
            for (int r = 0; r < bRows; r++)
            for (int c = 0; c < bCols; c++)
            {
                ushort x = Round((float)(rng.NextDouble() * 2 - 1));
                buffer[start + r * ldb + c] = x;
                b[r * bCols + c] = Widen(x);
            }

            var a = new float[Math.Max(0, aRows - 1) * lda + aCols];
            Array.Fill(a, float.NaN);
            var aRef = new double[aRows * aCols];
            for (int r = 0; r < aRows; r++)
            for (int c = 0; c < aCols; c++)
                aRef[r * aCols + c] = a[r * lda + c] = (float)(rng.NextDouble() * 2 - 1);

            var cBuffer = new float[(m - 1) * ldc + n];
            Array.Fill(cBuffer, Sentinel);
            var c0 = new double[m * n];
            for (int r = 0; r < m; r++)
            for (int j = 0; j < n; j++)
                c0[r * n + j] = cBuffer[r * ldc + j] = (float)(rng.NextDouble() * 2 - 1);
            var bias = new float[n];
            for (int j = 0; j < n; j++) bias[j] = (float)(rng.NextDouble() * 2 - 1);

            using var w0 = new GemmWorkspace();
            using var w1 = new GemmWorkspace();
            fixed (float* pa = a, pc = cBuffer, pbias = bias)
            {
                var g = new GemmArgs(pa, lda, s.TransA, pinned + start, ldb, s.TransB, pc, ldc, m, n, k, s.Accumulate, s.Bias ? pbias : null, s.Activation);
                GemmKernel.Run(g, [w0, w1], team);
            }

            var actual = new float[m * n];
            for (int r = 0; r < m; r++)
            {
                for (int j = 0; j < n; j++) actual[r * n + j] = cBuffer[r * ldc + j];
                if (r < m - 1)
                    for (int j = n; j < ldc; j++)
                        Assert.True(cBuffer[r * ldc + j] == Sentinel, $"{s}: C's gap at row {r}, column {j} was written");
            }
            var expected = Reference.MatMul(aRef, aCols, s.TransA, b, bCols, s.TransB, m, n, k);
            var sizes = Reference.MatMul(Array.ConvertAll(aRef, Math.Abs), aCols, s.TransA, Array.ConvertAll(b, Math.Abs), bCols, s.TransB, m, n, k);
            double magnitude = 0;
            for (int i = 0; i < m * n; i++)
                magnitude = Math.Max(magnitude, sizes[i] + (s.Accumulate ? Math.Abs(c0[i]) : 0) + (s.Bias ? Math.Abs(bias[i % n]) : 0));
            for (int i = 0; i < m * n; i++)
                expected[i] = Reference.Activate(expected[i] + (s.Accumulate ? c0[i] : 0) + (s.Bias ? bias[i % n] : 0), s.Activation);
            return (actual, expected, magnitude);
        }
    }

    public static void AssertMatches(Case s, KernelThreadTeam? team, string body = "")
    {
        // Against Σ|a||b|, not the largest output: a single dot product of 2051 terms may sum to nearly zero (one output in
        // some seeds), and its float32 rounding error is relative to the terms, not to the sum.
        var (actual, expected, magnitude) = Run(s, team);
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
            worst = Math.Max(worst, double.IsNaN(actual[i]) ? double.PositiveInfinity : Math.Abs(actual[i] - expected[i]));
        Assert.True(worst <= 1e-6 * magnitude, $"{body}{s} threads={team?.Threads ?? 1}: max |Δ| {worst:E3} against Σ|a||b| up to {magnitude:E3}");
    }
}
