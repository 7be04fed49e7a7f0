using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Checkpoints;

/// <summary>
/// Safetensors elements to float32, vectorized: BF16 is the top half of a float32 (a 16-bit shift); F16 is rebased
/// with one multiply by 2^112 (exact for normals and subnormals) plus the exponent of infinities and NaNs.
/// Transposed reads go through 8×8 register transposes, 16 source rows at a time, so each destination cache line is
/// written whole, once.
/// </summary>
internal static unsafe class ElementConversion
{
    // Transposed reads: BlockRows source rows at a time; 16-bit types are converted TileCols columns at a time into
    // an L1-resident float tile first.
    private const int BlockRows = 16, TileCols = 64;
    // Tile rows a little over 1 KiB apart: rows a power of two apart share L1 sets.
    private const int TileStride = TileCols + 16;

    /// <summary>Converts source.Length / element size elements (tests; the reader passes mapped pointers).</summary>
    public static void ToFloat(SafetensorsDType type, ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (source.Length < (long)destination.Length * SafetensorsDTypes.Size(type)) throw new ArgumentException("Source too short.", nameof(source));
        fixed (byte* s = source) ToFloat(type, s, destination);
    }

    /// <summary>destination[c, r] = source[r, c] over a dense source (tests).</summary>
    public static void ToFloatTransposed(SafetensorsDType type, ReadOnlySpan<byte> source, int sourceRows, int sourceCols, Span<float> destination)
    {
        int size = SafetensorsDTypes.Size(type);
        if (source.Length < (long)sourceRows * sourceCols * size || destination.Length < (long)sourceRows * sourceCols)
            throw new ArgumentException("Source or destination too short.", nameof(source));
        fixed (byte* s = source) ToFloatTransposed(type, s, (long)sourceCols * size, sourceRows, sourceCols, destination);
    }

    public static void ToFloat(SafetensorsDType type, byte* source, Span<float> destination)
    {
        fixed (float* d = destination) ToFloat(type, source, d, destination.Length);
    }

    private static void ToFloat(SafetensorsDType type, byte* source, float* destination, int n)
    {
        switch (type)
        {
            case SafetensorsDType.F32: Buffer.MemoryCopy(source, destination, (long)n * 4, (long)n * 4); break;
            case SafetensorsDType.BF16: FromBFloat16((ushort*)source, destination, n); break;
            case SafetensorsDType.F16: FromHalf((ushort*)source, destination, n); break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>
    /// destination[c, r] = source[r, c] for a source of <paramref name="sourceRows"/> × <paramref name="sourceCols"/>
    /// elements with a row stride of <paramref name="sourceStride"/> bytes; destination is sourceCols × sourceRows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToFloatTransposed(SafetensorsDType type, byte* source, long sourceStride, int sourceRows, int sourceCols, Span<float> destination)
    {
        if (destination.Length < (long)sourceRows * sourceCols) throw new ArgumentException("Destination too short.", nameof(destination));
        int size = SafetensorsDTypes.Size(type);
        float* tile = stackalloc float[BlockRows * TileStride];
        fixed (float* d = destination)
        {
            // Column tiles outer, row blocks inner: a tile's destination rows (TileCols pages at most) stay in the TLB
            // while the source streams past, BlockRows rows at a time.
            for (int c0 = 0; c0 < sourceCols; c0 += TileCols)
            {
                int cols = Math.Min(TileCols, sourceCols - c0);
                for (int r0 = 0; r0 < sourceRows; r0 += BlockRows)
                {
                    int rows = Math.Min(BlockRows, sourceRows - r0);
                    byte* block = source + r0 * sourceStride + (long)c0 * size;
                    float* target = d + (long)c0 * sourceRows + r0;
                    if (type == SafetensorsDType.F32)
                    {
                        Transpose((float*)block, sourceStride / 4, rows, cols, target, sourceRows);   // straight from the mapped file
                        continue;
                    }
                    for (int i = 0; i < rows; i++) ToFloat(type, block + i * sourceStride, tile + i * TileStride, cols);
                    Transpose(tile, TileStride, rows, cols, target, sourceRows);
                }
            }
        }
    }

    // destination[c * destinationStride + r] = source[r * sourceStride + c] for r < rows (≤ 16), c < cols; 16 rows
    // go through two 8 × 8 register transposes side by side, so each destination cache line is written whole at once.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* source, long sourceStride, int rows, int cols, float* destination, long destinationStride)
    {
        int c = 0;
        if (Avx.IsSupported && rows == 16)
            for (; c <= cols - 8; c += 8)
            {
                Transpose8x8(source + c, sourceStride, destination + c * destinationStride, destinationStride);
                Transpose8x8(source + 8 * sourceStride + c, sourceStride, destination + c * destinationStride + 8, destinationStride);
            }
        for (; c < cols; c++)
        {
            float* column = destination + c * destinationStride;
            for (int r = 0; r < rows; r++) column[r] = source[r * sourceStride + c];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, long ss, float* d, long ds)
    {
        var r0 = Avx.LoadVector256(s);
        var r1 = Avx.LoadVector256(s + ss);
        var r2 = Avx.LoadVector256(s + 2 * ss);
        var r3 = Avx.LoadVector256(s + 3 * ss);
        var r4 = Avx.LoadVector256(s + 4 * ss);
        var r5 = Avx.LoadVector256(s + 5 * ss);
        var r6 = Avx.LoadVector256(s + 6 * ss);
        var r7 = Avx.LoadVector256(s + 7 * ss);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ds, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ds, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ds, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ds, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ds, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ds, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ds, Avx.Permute2x128(u3, u7, 0x31));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromBFloat16(ushort* source, float* destination, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16)
            {
                var (low, high) = Vector256.Widen(Vector256.Load(source + i));
                Vector256.ShiftLeft(low, 16).AsSingle().Store(destination + i);
                Vector256.ShiftLeft(high, 16).AsSingle().Store(destination + i + 8);
            }
        for (; i < n; i++) ((uint*)destination)[i] = (uint)source[i] << 16;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromHalf(ushort* source, float* destination, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - 16; i += 16)
            {
                var (low, high) = Vector256.Widen(Vector256.Load(source + i));
                HalfToSingle(low).Store(destination + i);
                HalfToSingle(high).Store(destination + i + 8);
            }
        for (; i < n; i++) destination[i] = (float)BitConverter.UInt16BitsToHalf(source[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfToSingle(Vector256<uint> h)
    {
        var magnitude = h & Vector256.Create(0x7FFFu);
        // Exponent and mantissa moved into float32's place, then scaled by 2^(127−15): exact, subnormals included.
        var bits = (Vector256.ShiftLeft(magnitude, 13).AsSingle() * Vector256.Create(0x77800000u).AsSingle()).AsUInt32();
        var infOrNaN = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(0x7C00u));
        bits |= infOrNaN & Vector256.Create(0x7F800000u);
        bits |= Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16);
        return bits.AsSingle();
    }
}
