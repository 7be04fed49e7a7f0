using System;
using ShardGen.Checkpoints;

namespace ShardGen.Kernels;

/// <summary>
/// Packing a bfloat16 B: widened exactly to float32 on the way into the panels, so the micro-kernels stay float32 and
/// only the reads of B halve. Rows widen with <see cref="BFloat16"/>; Bᵀ's 8×8 blocks convert and turn in registers
/// as the checkpoint reader's (<see cref="ElementConversion"/>) do.
/// </summary>
internal static unsafe partial class GemmPacking
{
    /// <summary><see cref="PackB(float*, int, bool, int, int, int, int, int, float*)"/> of g's B, float32 or bfloat16.</summary>
    public static void PackB(in GemmArgs g, int p0, int j0, int kc, int nc, int nr, float* dst)
    {
        if (g.B16 == null) PackB(g.B, g.Ldb, g.TransB, p0, j0, kc, nc, nr, dst);
        else PackB(g.B16, g.Ldb, g.TransB, p0, j0, kc, nc, nr, dst);
    }

    /// <summary>The panels of op(B)[p0.., j0..] (kc×nc) as the float32 PackB lays them out, from bfloat16.</summary>
    public static void PackB(ushort* b, int ldb, bool trans, int p0, int j0, int kc, int nc, int nr, float* dst)
    {
        for (int t = 0; t < nc; t += nr)
        {
            int cols = Math.Min(nr, nc - t);
            float* panel = dst + (nint)t * kc;
            if (!trans)
            {
                for (int p = 0; p < kc; p++) BFloat16.Widen(b + (nint)(p0 + p) * ldb + j0 + t, panel + (nint)p * nr, cols);
            }
            else
            {
                // Bᵀ: panel[p, j] = B[j0 + t + j, p0 + p], converted and turned 8×8 in registers.
                var source = (byte*)(b + (nint)(j0 + t) * ldb + p0);
                ElementConversion.ToFloatTransposed(SafetensorsDType.BF16, source, (long)ldb * sizeof(ushort), cols, kc, new Span<float>(panel, kc * nr), nr);
            }
            if (cols < nr)
            {
                for (int p = 0; p < kc; p++)
                for (int j = cols; j < nr; j++)
                    panel[(nint)p * nr + j] = 0f;
            }
        }
    }
}
