using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>Dot product and scaled add over one row of floats: the inner loops of the per-row attention kernels.</summary>
internal static unsafe class RowMath
{
    /// <summary>Σ x[i]·y[i] over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* x, float* y, int n)
    {
        int i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), acc);
            sum = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), acc);
            sum = Vector256.Sum(acc);
        }
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(x[i], y[i], sum);
        return sum;
    }

    /// <summary>o += a·x over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AddScaled(float* o, float a, float* x, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var av = Vector512.Create(a);
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.FusedMultiplyAdd(av, Vector512.Load(x + i), Vector512.Load(o + i)), o + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var av = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.FusedMultiplyAdd(av, Vector256.Load(x + i), Vector256.Load(o + i)), o + i);
        }
        for (; i < n; i++) o[i] = MathF.FusedMultiplyAdd(a, x[i], o[i]);
    }
}
