using System;
using System.Runtime.InteropServices;

namespace ShardGen.Kernels;

/// <summary>
/// Packing buffers of one GEMM thread (64-byte aligned native memory, grown on demand, reused across calls
/// so a GEMM never allocates), plus that thread's block of attention scores.
/// </summary>
internal sealed unsafe class GemmWorkspace : IDisposable
{
    private float* _packA, _packB, _tile, _scores;
    private nint _packACap, _packBCap, _tileCap, _scoresCap;

    public float* PackA(nint floats) => Ensure(ref _packA, ref _packACap, floats);

    public float* PackB(nint floats) => Ensure(ref _packB, ref _packBCap, floats);

    /// <summary>Scratch MR×NR tile for edge tiles that do not fill a whole register tile.</summary>
    public float* Tile(nint floats) => Ensure(ref _tile, ref _tileCap, floats);

    /// <summary>Attention score block (rows × keys) of this thread; separate from the packs its GEMMs use.</summary>
    public float* Scores(nint floats) => Ensure(ref _scores, ref _scoresCap, floats);

    private static float* Ensure(ref float* p, ref nint cap, nint floats)
    {
        ObjectDisposedException.ThrowIf(cap < 0, typeof(GemmWorkspace));
        if (floats <= cap) return p;
        if (p != null) NativeMemory.AlignedFree(p);
        p = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        cap = floats;
        return p;
    }

    public void Dispose()
    {
        Free(ref _packA, ref _packACap);
        Free(ref _packB, ref _packBCap);
        Free(ref _tile, ref _tileCap);
        Free(ref _scores, ref _scoresCap);
    }

    private static void Free(ref float* p, ref nint cap)
    {
        if (p != null) NativeMemory.AlignedFree(p);
        p = null;
        cap = -1;
    }
}
