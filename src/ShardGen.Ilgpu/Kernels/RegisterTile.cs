using System.Runtime.CompilerServices;

namespace ShardGen.Ilgpu.Kernels;

// The GEMM's per-thread register tile. ILGPU lowers structure values to scalar registers, while a local array
// would live in (slow, off-chip) local memory, and ILGPU does not unroll loops; so the 8×8 tile is spelled out
// as nested structs and every operation is a pure function of values, which keeps each field in its own register.

/// <summary>Four consecutive floats; a <c>Float4</c> load from 16-byte-aligned shared memory is one <c>ld.shared.v4</c>.</summary>
internal struct Float4
{
    public float X, Y, Z, W;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Float4(float x, float y, float z, float w)
    {
        X = x;
        Y = y;
        Z = z;
        W = w;
    }

    /// <summary>c + a·b, lane by lane (ptxas contracts each pair into one FFMA).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float4 Fma(Float4 c, float a, Float4 b) =>
        new(c.X + a * b.X, c.Y + a * b.Y, c.Z + a * b.Z, c.W + a * b.W);
}

/// <summary>
/// Eight values of one thread: positions 0–3 (<see cref="Lo"/>) and 4–7 (<see cref="Hi"/>) lie half a group tile
/// apart, so that a group's threads read consecutive <c>Float4</c>s of shared memory without bank conflicts.
/// </summary>
internal struct Float8
{
    public Float4 Lo, Hi;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Float8(Float4 lo, Float4 hi)
    {
        Lo = lo;
        Hi = hi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float8 Fma(Float8 c, float a, Float8 b) => new(Float4.Fma(c.Lo, a, b.Lo), Float4.Fma(c.Hi, a, b.Hi));
}

/// <summary>A thread's 8×8 tile of C: row i of the tile is <c>R{i}</c>, with rows laid out like the lanes of <see cref="Float8"/>.</summary>
internal struct Accumulator8x8
{
    public Float8 R0, R1, R2, R3, R4, R5, R6, R7;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Accumulator8x8(Float8 r0, Float8 r1, Float8 r2, Float8 r3, Float8 r4, Float8 r5, Float8 r6, Float8 r7)
    {
        R0 = r0;
        R1 = r1;
        R2 = r2;
        R3 = r3;
        R4 = r4;
        R5 = r5;
        R6 = r6;
        R7 = r7;
    }

    /// <summary>One rank-1 update: c += a ⊗ b, 64 multiply-adds, where a holds the thread's 8 rows of one column of op(A)
    /// and b its 8 columns of one row of op(B).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Accumulator8x8 Step(Accumulator8x8 c, Float8 a, Float8 b) => new(
        Float8.Fma(c.R0, a.Lo.X, b),
        Float8.Fma(c.R1, a.Lo.Y, b),
        Float8.Fma(c.R2, a.Lo.Z, b),
        Float8.Fma(c.R3, a.Lo.W, b),
        Float8.Fma(c.R4, a.Hi.X, b),
        Float8.Fma(c.R5, a.Hi.Y, b),
        Float8.Fma(c.R6, a.Hi.Z, b),
        Float8.Fma(c.R7, a.Hi.W, b));
}
