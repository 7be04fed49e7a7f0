using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

/// <summary>A compile-time integer for generic specialisation (the JIT folds <see cref="Value"/> per struct type).</summary>
internal interface IConstant
{
    static abstract int Value { get; }
}

internal struct Rows1 : IConstant { public static int Value => 1; }
internal struct Rows2 : IConstant { public static int Value => 2; }
internal struct Rows3 : IConstant { public static int Value => 3; }
internal struct Rows4 : IConstant { public static int Value => 4; }
internal struct Rows5 : IConstant { public static int Value => 5; }
internal struct Rows6 : IConstant { public static int Value => 6; }

/// <summary>
/// The AVX-512 6×64 micro-kernel with strided operands, specialised per row count R ≤ 6 (ragged row edges need
/// no scratch tile and do no wasted FMAs): C[R×64] (+)= A[R×kc]·B[kc×64] where row r of A is
/// <c>a + r·lda</c> (contiguous over k: A is read in place, never packed, when it is row-major) and row p of B
/// is <c>b + p·ldb</c> (ldb = 64 for a packed panel, or B's own stride when read in place).
/// 24 zmm accumulators + 4 B vectors + 1 broadcast = 29 of 32 registers; the C tile is prefetched first so its
/// load/store at the end does not miss.
/// </summary>
internal static unsafe class MicroKernel512Rows
{
    public const int MR = 6;
    public const int NR = 64;

    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    public static void Run(int rows, int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add)
    {
        switch (rows)
        {
            case 6: Run<Rows6>(kc, a, lda, b, ldb, c, ldc, add); break;
            case 5: Run<Rows5>(kc, a, lda, b, ldb, c, ldc, add); break;
            case 4: Run<Rows4>(kc, a, lda, b, ldb, c, ldc, add); break;
            case 3: Run<Rows3>(kc, a, lda, b, ldb, c, ldc, add); break;
            case 2: Run<Rows2>(kc, a, lda, b, ldb, c, ldc, add); break;
            default: Run<Rows1>(kc, a, lda, b, ldb, c, ldc, add); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TRows>(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add) where TRows : struct, IConstant
    {
        int rows = TRows.Value;
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + r * ldc;
            Sse.Prefetch0(cr);
            Sse.Prefetch0(cr + 16);
            Sse.Prefetch0(cr + 32);
            Sse.Prefetch0(cr + 48);
        }

        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;

        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var b2 = Vector512.Load(b + 32);
            var b3 = Vector512.Load(b + 48);
            b += ldb;

            var av = Vector512.Create(a0[p]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            c02 = Avx512F.FusedMultiplyAdd(av, b2, c02);
            c03 = Avx512F.FusedMultiplyAdd(av, b3, c03);
            if (TRows.Value > 1)
            {
                av = Vector512.Create(a1[p]);
                c10 = Avx512F.FusedMultiplyAdd(av, b0, c10);
                c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
                c12 = Avx512F.FusedMultiplyAdd(av, b2, c12);
                c13 = Avx512F.FusedMultiplyAdd(av, b3, c13);
            }
            if (TRows.Value > 2)
            {
                av = Vector512.Create(a2[p]);
                c20 = Avx512F.FusedMultiplyAdd(av, b0, c20);
                c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
                c22 = Avx512F.FusedMultiplyAdd(av, b2, c22);
                c23 = Avx512F.FusedMultiplyAdd(av, b3, c23);
            }
            if (TRows.Value > 3)
            {
                av = Vector512.Create(a3[p]);
                c30 = Avx512F.FusedMultiplyAdd(av, b0, c30);
                c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
                c32 = Avx512F.FusedMultiplyAdd(av, b2, c32);
                c33 = Avx512F.FusedMultiplyAdd(av, b3, c33);
            }
            if (TRows.Value > 4)
            {
                av = Vector512.Create(a4[p]);
                c40 = Avx512F.FusedMultiplyAdd(av, b0, c40);
                c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
                c42 = Avx512F.FusedMultiplyAdd(av, b2, c42);
                c43 = Avx512F.FusedMultiplyAdd(av, b3, c43);
            }
            if (TRows.Value > 5)
            {
                av = Vector512.Create(a5[p]);
                c50 = Avx512F.FusedMultiplyAdd(av, b0, c50);
                c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);
                c52 = Avx512F.FusedMultiplyAdd(av, b2, c52);
                c53 = Avx512F.FusedMultiplyAdd(av, b3, c53);
            }
        }

        Store(c, add, c00, c01, c02, c03);
        if (TRows.Value > 1) Store(c + ldc, add, c10, c11, c12, c13);
        if (TRows.Value > 2) Store(c + 2 * ldc, add, c20, c21, c22, c23);
        if (TRows.Value > 3) Store(c + 3 * ldc, add, c30, c31, c32, c33);
        if (TRows.Value > 4) Store(c + 4 * ldc, add, c40, c41, c42, c43);
        if (TRows.Value > 5) Store(c + 5 * ldc, add, c50, c51, c52, c53);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, bool add, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        if (add)
        {
            v0 += Vector512.Load(c);
            v1 += Vector512.Load(c + 16);
            v2 += Vector512.Load(c + 32);
            v3 += Vector512.Load(c + 48);
        }
        Vector512.Store(v0, c);
        Vector512.Store(v1, c + 16);
        Vector512.Store(v2, c + 32);
        Vector512.Store(v3, c + 48);
    }
}
