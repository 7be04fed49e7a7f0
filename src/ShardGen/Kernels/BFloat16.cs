using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>bfloat16 → float32, exactly: a bfloat16 is a float32's upper 16 bits, so widening is a 16-bit shift.</summary>
internal static unsafe class BFloat16
{
    /// <summary>dst[i] = (float)src[i] for <paramref name="count"/> elements.</summary>
    public static void Widen(ushort* src, float* dst, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= count; i += 16)
            {
                var wide = Vector512.WidenLower(Vector256.Load(src + i).ToVector512Unsafe());
                Vector512.Store(Vector512.ShiftLeft(wide, 16).AsSingle(), dst + i);
            }
        else if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= count; i += 8)
            {
                var wide = Vector256.WidenLower(Vector128.Load(src + i).ToVector256Unsafe());
                Vector256.Store(Vector256.ShiftLeft(wide, 16).AsSingle(), dst + i);
            }
        for (; i < count; i++) dst[i] = Widen(src[i]);
    }

    /// <summary>A matrix of bfloat16 rows (stride <paramref name="lds"/>) into float32 rows (stride <paramref name="ldd"/>).</summary>
    public static void Widen(ushort* src, nint lds, float* dst, nint ldd, int rows, int cols)
    {
        for (int r = 0; r < rows; r++) Widen(src + r * lds, dst + r * ldd, cols);
    }

    /// <summary>One element.</summary>
    public static float Widen(ushort x) => System.BitConverter.Int32BitsToSingle(x << 16);
}
