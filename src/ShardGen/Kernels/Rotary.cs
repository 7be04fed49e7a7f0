using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// Rotary position embedding in place, Hugging Face's rotate_half: per head, x[i] and x[i + d/2] turn by angle i of the
/// row's position. Written as PyTorch evaluates <c>q·cos + rotate_half(q)·sin</c> (two rounded products, then a sum;
/// no fused multiply-add) so the result matches it exactly for the same table.
/// </summary>
internal static unsafe class Rotary
{
    /// <summary>Rotates <paramref name="heads"/> heads of one row, each <c>table.HeadDim</c> wide, by position <paramref name="position"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(float* x, int heads, int position, RotaryTable table)
    {
        int d = table.HeadDim, half = d / 2;
        fixed (float* cosTable = table.Cos, sinTable = table.Sin)
        {
            float* cos = cosTable + (nint)position * half, sin = sinTable + (nint)position * half;
            for (int h = 0; h < heads; h++)
            {
                float* x1 = x + (nint)h * d, x2 = x1 + half;
                int i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    for (; i + 16 <= half; i += 16)
                    {
                        var a = Vector512.Load(x1 + i);
                        var b = Vector512.Load(x2 + i);
                        var c = Vector512.Load(cos + i);
                        var s = Vector512.Load(sin + i);
                        Vector512.Store(a * c - b * s, x1 + i);
                        Vector512.Store(b * c + a * s, x2 + i);
                    }
                }
                else if (Vector256.IsHardwareAccelerated)
                {
                    for (; i + 8 <= half; i += 8)
                    {
                        var a = Vector256.Load(x1 + i);
                        var b = Vector256.Load(x2 + i);
                        var c = Vector256.Load(cos + i);
                        var s = Vector256.Load(sin + i);
                        Vector256.Store(a * c - b * s, x1 + i);
                        Vector256.Store(b * c + a * s, x2 + i);
                    }
                }
                for (; i < half; i++)
                {
                    float a = x1[i], b = x2[i];
                    x1[i] = a * cos[i] - b * sin[i];
                    x2[i] = b * cos[i] + a * sin[i];
                }
            }
        }
    }
}
