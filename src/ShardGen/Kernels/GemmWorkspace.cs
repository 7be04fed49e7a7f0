using System;
using System.Runtime.InteropServices;

namespace ShardGen.Kernels;

/// <summary>
/// Packing buffers of one GEMM thread (64-byte aligned native memory, grown on demand, reused across calls
/// so a GEMM never allocates).
/// </summary>
internal sealed unsafe class GemmWorkspace : IDisposable
{
    private float* _packA, _packB, _tile;
    private nint _packACap, _packBCap, _tileCap;

    public float* PackA(nint floats) => Ensure(ref _packA, ref _packACap, floats);

    public float* PackB(nint floats) => Ensure(ref _packB, ref _packBCap, floats);

    /// <summary>Scratch MR×NR tile for edge tiles that do not fill a whole register tile.</summary>
    public float* Tile(nint floats) => Ensure(ref _tile, ref _tileCap, floats);

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
    }

    private static void Free(ref float* p, ref nint cap)
    {
        if (p != null) NativeMemory.AlignedFree(p);
        p = null;
        cap = -1;
    }
}
