using System.Runtime.CompilerServices;
using ILGPU;

namespace ShardGen.Ilgpu.Kernels;

/// <summary>
/// Register-tiled GEMM (the SGEMM design of the fast hand-written CUDA kernels): a gx×gy group computes a
/// (8·gy)×(8·gx) tile of C, each thread an 8×8 register tile, streaming K through shared memory
/// <see cref="TileK"/> columns at a time. Per rank-1 step a thread reads 4 <c>Float4</c>s from shared memory
/// for 64 multiply-adds, where one output per thread would read 2 floats per multiply-add.
/// </summary>
internal static class GemmKernel
{
    /// <summary>K columns staged per step.</summary>
    public const int TileK = 8;

    /// <summary>Largest side of a group's tile of C (16 threads × 8): the shared tiles are sized for it.</summary>
    public const int MaxTileSide = 128;

    /// <summary>Largest group side: a thread computes 8 rows and 8 columns of the tile.</summary>
    public const int MaxGroupSide = MaxTileSide / 8;

    /// <summary>
    /// Floats between the k-rows of a staged tile: the tile side plus 4, so that the 8 k-values of one row of A
    /// (stored by 8 neighbouring threads) fall in different banks; a multiple of 4 keeps every row 16-byte aligned.
    /// </summary>
    private const int TileStride = MaxTileSide + 4;

    /// <summary>Float4s per k-row of a staged tile.</summary>
    private const int Row4 = TileStride / 4;

    /// <summary>
    /// C[z] = act((accumulate ? C[z] : 0) + op(A[z])·op(B[z]) + bias) for z = Grid.IdxZ. Thread (tx, ty) owns
    /// rows 4·ty + i and 4·gy + 4·ty + i and columns 4·tx + j and 4·gx + 4·tx + j of the tile (i, j &lt; 4):
    /// the split halves make every shared-memory read of a warp conflict-free. Grid: (⌈N/8gx⌉, ⌈M/8gy⌉, batch).
    /// </summary>
    public static void Gemm(GemmParams p, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias)
    {
        // Float4-typed allocations are 16-byte aligned, so the reads below compile to ld.shared.v4.f32.
        var tileA4 = SharedMemory.Allocate<Float4>(TileK * Row4); // float k·S + r = op(A)[row0 + r, k0 + k]
        var tileB4 = SharedMemory.Allocate<Float4>(TileK * Row4); // float k·S + j = op(B)[k0 + k, col0 + j]
        var tileA = tileA4.Cast<float>();
        var tileB = tileB4.Cast<float>();

        int gx = Group.DimX, gy = Group.DimY, tx = Group.IdxX, ty = Group.IdxY;
        int tid = ty * gx + tx, threads = gx * gy;
        int tileM = gy * 8, tileN = gx * 8;
        int row0 = Grid.IdxY * tileM, col0 = Grid.IdxX * tileN, z = Grid.IdxZ;
        int aBase = p.AOffset + z * p.ABatch;
        int bBase = p.BOffset + (z / p.BBatchDivisor) * p.BBatch;

        // The thread's rows of op(A) (4·ty…, and half a tile further) and columns of op(B), as Float4 views.
        var a0 = tileA4.SubView(ty);
        var a1 = tileA4.SubView(gy + ty);
        var b0 = tileB4.SubView(tx);
        var b1 = tileB4.SubView(gx + tx);
        var acc = default(Accumulator8x8);
        for (int k0 = 0; k0 < p.K; k0 += TileK)
        {
            // op(A)[r, k] is contiguous along k when A is not transposed; op(B)[k, j] when B is.
            Stage(a, aBase, p.Lda, p.TransposeA == 0, row0, p.M, tileM, p.ShiftM, k0, p.K, tileA, tid, threads);
            Stage(b, bBase, p.Ldb, p.TransposeB != 0, col0, p.N, tileN, p.ShiftN, k0, p.K, tileB, tid, threads);
            Group.Barrier();
            // Unrolled by hand (ILGPU does not unroll). Each read is one of four per-thread views at a constant
            // offset, which ptxas folds into the shared load: 4 ld.shared.v4 and 64 FFMA per k, no loop arithmetic.
            acc = RankOne(acc, a0, a1, b0, b1, 0 * Row4);
            acc = RankOne(acc, a0, a1, b0, b1, 1 * Row4);
            acc = RankOne(acc, a0, a1, b0, b1, 2 * Row4);
            acc = RankOne(acc, a0, a1, b0, b1, 3 * Row4);
            acc = RankOne(acc, a0, a1, b0, b1, 4 * Row4);
            acc = RankOne(acc, a0, a1, b0, b1, 5 * Row4);
            acc = RankOne(acc, a0, a1, b0, b1, 6 * Row4);
            acc = RankOne(acc, a0, a1, b0, b1, 7 * Row4);
            Group.Barrier();
        }

        int r0 = row0 + 4 * ty, r1 = row0 + 4 * gy + 4 * ty;
        int c0 = col0 + 4 * tx, c1 = col0 + 4 * gx + 4 * tx;
        StoreRow(p, c, bias, z, r0, c0, c1, acc.R0);
        StoreRow(p, c, bias, z, r0 + 1, c0, c1, acc.R1);
        StoreRow(p, c, bias, z, r0 + 2, c0, c1, acc.R2);
        StoreRow(p, c, bias, z, r0 + 3, c0, c1, acc.R3);
        StoreRow(p, c, bias, z, r1, c0, c1, acc.R4);
        StoreRow(p, c, bias, z, r1 + 1, c0, c1, acc.R5);
        StoreRow(p, c, bias, z, r1 + 2, c0, c1, acc.R6);
        StoreRow(p, c, bias, z, r1 + 3, c0, c1, acc.R7);
    }

    /// <summary>The rank-1 update of the staged k-row at <paramref name="at"/>: the thread's 8 values of op(A) and of op(B).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Accumulator8x8 RankOne(Accumulator8x8 acc, ArrayView<Float4> a0, ArrayView<Float4> a1, ArrayView<Float4> b0, ArrayView<Float4> b1, int at) =>
        Accumulator8x8.Step(acc, new Float8(a0[at], a1[at]), new Float8(b0[at], b1[at]));

    /// <summary>
    /// Copies a tile-side × TileK slab of op(X) into tile[k·S + r], zero outside the matrix. Neighbouring threads
    /// read neighbouring addresses of X: runs of TileK along k when X is contiguous along k, else runs along r.
    /// </summary>
    private static void Stage(ArrayView<float> x, int xBase, int ld, bool kContiguous, int outer0, int outerLimit,
        int tileSide, int tileShift, int k0, int kLimit, ArrayView<float> tile, int tid, int threads)
    {
        int count = TileK * tileSide;
        for (int e = tid; e < count; e += threads)
        {
            int r, k;
            if (kContiguous)
            {
                r = e / TileK;
                k = e - r * TileK;
            }
            else
            {
                k = e >> tileShift;
                r = e - (k << tileShift);
            }
            int gr = outer0 + r, gk = k0 + k;
            float v = 0f;
            if (gr < outerLimit && gk < kLimit) v = x[xBase + (kContiguous ? gr * ld + gk : gk * ld + gr)];
            tile[k * TileStride + r] = v;
        }
    }

    private static void StoreRow(GemmParams p, ArrayView<float> c, ArrayView<float> bias, int z, int row, int c0, int c1, Float8 v)
    {
        if (row >= p.M) return;
        int rowBase = p.COffset + z * p.CBatch + row * p.Ldc;
        Store(p, c, bias, rowBase, c0, v.Lo.X);
        Store(p, c, bias, rowBase, c0 + 1, v.Lo.Y);
        Store(p, c, bias, rowBase, c0 + 2, v.Lo.Z);
        Store(p, c, bias, rowBase, c0 + 3, v.Lo.W);
        Store(p, c, bias, rowBase, c1, v.Hi.X);
        Store(p, c, bias, rowBase, c1 + 1, v.Hi.Y);
        Store(p, c, bias, rowBase, c1 + 2, v.Hi.Z);
        Store(p, c, bias, rowBase, c1 + 3, v.Hi.W);
    }

    private static void Store(GemmParams p, ArrayView<float> c, ArrayView<float> bias, int rowBase, int col, float acc)
    {
        if (col >= p.N) return;
        int at = rowBase + col;
        float v = p.Accumulate != 0 ? c[at] + acc : acc;
        if (p.HasBias != 0) v += bias[p.BiasOffset + col];
        c[at] = DeviceKernels.Activate(v, p.Activation);
    }
}
