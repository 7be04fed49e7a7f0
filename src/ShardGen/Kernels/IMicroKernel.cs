namespace ShardGen.Kernels;

/// <summary>
/// A register-tiled GEMM micro-kernel: C[MR×NR] (+)= Ã·B̃ over kc steps, Ã packed as kc groups of MR floats
/// and B̃ as kc groups of NR floats (see <see cref="GemmPacking"/>). Implemented by structs so the blocked
/// driver is specialised per kernel by the JIT (no virtual call in the hot loop).
/// </summary>
internal unsafe interface IMicroKernel
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }

    /// <summary>Depth of one packed block: B̃'s kc×NR micro-panel should stay in L1.</summary>
    static abstract int KC { get; }

    /// <summary>Rows of one packed Ã block (a multiple of MR, sized for L2).</summary>
    static abstract int MC { get; }

    /// <summary>Columns of one packed B̃ block (a multiple of NR, sized for L3).</summary>
    static abstract int NC { get; }

    /// <summary>
    /// Computes the full MR×NR tile. <paramref name="add"/>: C += tile, else C = tile.
    /// <paramref name="ldc"/> is C's row stride in floats.
    /// </summary>
    static abstract void Run(int kc, float* a, float* b, float* c, nint ldc, bool add);
}
