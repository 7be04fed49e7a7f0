using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

/// <summary>
/// 6×64 AVX-512 micro-kernel: 24 zmm accumulators + 4 B vectors + 1 broadcast = 29 of the 32 registers,
/// 24 FMAs per 4 loads and 6 broadcasts, so the FMA units, not the load ports, are the limit.
/// </summary>
internal unsafe struct MicroKernel512 : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 64;
    // B̃ micro-panel: 128·64·4 = 32 KiB, fits the 48 KiB L1 alongside the Ã stream.
    public static int KC => 128;
    // Ã block: 288·128·4 = 144 KiB, well inside a 1 MiB L2.
    public static int MC => 288;
    // B̃ block: 128·4096·4 = 2 MiB, lives in L3 and is reused by every Ã block.
    public static int NC => 4096;

    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;

        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var b2 = Vector512.Load(b + 32);
            var b3 = Vector512.Load(b + 48);

            var av = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(av, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(av, b1, c01);
            c02 = Avx512F.FusedMultiplyAdd(av, b2, c02);
            c03 = Avx512F.FusedMultiplyAdd(av, b3, c03);
            av = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(av, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(av, b1, c11);
            c12 = Avx512F.FusedMultiplyAdd(av, b2, c12);
            c13 = Avx512F.FusedMultiplyAdd(av, b3, c13);
            av = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(av, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(av, b1, c21);
            c22 = Avx512F.FusedMultiplyAdd(av, b2, c22);
            c23 = Avx512F.FusedMultiplyAdd(av, b3, c23);
            av = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(av, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(av, b1, c31);
            c32 = Avx512F.FusedMultiplyAdd(av, b2, c32);
            c33 = Avx512F.FusedMultiplyAdd(av, b3, c33);
            av = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(av, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(av, b1, c41);
            c42 = Avx512F.FusedMultiplyAdd(av, b2, c42);
            c43 = Avx512F.FusedMultiplyAdd(av, b3, c43);
            av = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(av, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(av, b1, c51);
            c52 = Avx512F.FusedMultiplyAdd(av, b2, c52);
            c53 = Avx512F.FusedMultiplyAdd(av, b3, c53);

            a += 6;
            b += 64;
        }

        Store(c, add, c00, c01, c02, c03); c += ldc;
        Store(c, add, c10, c11, c12, c13); c += ldc;
        Store(c, add, c20, c21, c22, c23); c += ldc;
        Store(c, add, c30, c31, c32, c33); c += ldc;
        Store(c, add, c40, c41, c42, c43); c += ldc;
        Store(c, add, c50, c51, c52, c53);
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
