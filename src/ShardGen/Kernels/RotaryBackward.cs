using System.Runtime.CompilerServices;

namespace ShardGen.Kernels;

/// <summary>
/// Backward of <see cref="Rotary"/>: the pair rotation is orthogonal, so the gradient turns by −angle with the same
/// cos/sin table: (d₁, d₂) become (d₁·cos + d₂·sin, d₂·cos − d₁·sin).
/// </summary>
internal static unsafe class RotaryBackward
{
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
                for (int i = 0; i < half; i++)
                {
                    float a = x1[i], b = x2[i];
                    x1[i] = a * cos[i] + b * sin[i];
                    x2[i] = b * cos[i] - a * sin[i];
                }
            }
        }
    }
}
