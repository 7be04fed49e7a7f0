using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>
/// <c>o += Σⱼ p[j]·v[j]</c> over <c>count</c> rows of v (stride ldv), d columns: the causal diagonal's P·V, where each
/// row stops at its own key. The sum for a slice of o stays in registers across all j (one load and store of o).
/// </summary>
internal static unsafe class WeightedRowSum
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddTo(float* o, float* p, float* v, int ldv, int count, int d)
    {
        int c = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; c + 32 <= d; c += 32)
            {
                var a0 = Vector512.Load(o + c);
                var a1 = Vector512.Load(o + c + 16);
                for (int j = 0; j < count; j++)
                {
                    var pj = Vector512.Create(p[j]);
                    float* vj = v + (nint)j * ldv + c;
                    a0 = Vector512.FusedMultiplyAdd(pj, Vector512.Load(vj), a0);
                    a1 = Vector512.FusedMultiplyAdd(pj, Vector512.Load(vj + 16), a1);
                }
                Vector512.Store(a0, o + c);
                Vector512.Store(a1, o + c + 16);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; c + 16 <= d; c += 16)
            {
                var a0 = Vector256.Load(o + c);
                var a1 = Vector256.Load(o + c + 8);
                for (int j = 0; j < count; j++)
                {
                    var pj = Vector256.Create(p[j]);
                    float* vj = v + (nint)j * ldv + c;
                    a0 = Vector256.FusedMultiplyAdd(pj, Vector256.Load(vj), a0);
                    a1 = Vector256.FusedMultiplyAdd(pj, Vector256.Load(vj + 8), a1);
                }
                Vector256.Store(a0, o + c);
                Vector256.Store(a1, o + c + 8);
            }
            for (; c + 8 <= d; c += 8)
            {
                var a0 = Vector256.Load(o + c);
                for (int j = 0; j < count; j++) a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p[j]), Vector256.Load(v + (nint)j * ldv + c), a0);
                Vector256.Store(a0, o + c);
            }
        }
        for (; c < d; c++)
        {
            float a = o[c];
            for (int j = 0; j < count; j++) a = System.MathF.FusedMultiplyAdd(p[j], v[(nint)j * ldv + c], a);
            o[c] = a;
        }
    }
}
