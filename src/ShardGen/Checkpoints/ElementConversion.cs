using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Checkpoints;

/// <summary>
/// Safetensors elements to float32, vectorized: BF16 is the top half of a float32 (a 16-bit shift); F16 is rebased
/// with one multiply by 2^112 (exact for normals and subnormals) plus the exponent of infinities and NaNs.
/// Transposed reads convert and transpose 8×8 blocks in registers, 16 source rows at a time, so each destination
/// cache line is written whole, once.
/// </summary>
internal static unsafe class ElementConversion
{
    // Transposed reads: blocks of BlockRows source rows, in column tiles of TileCols.
    private const int BlockRows = 16, TileCols = 64;

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
        fixed (byte* s = source) ToFloatTransposed(type, s, (long)sourceCols * size, sourceRows, sourceCols, destination, sourceRows);
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
    /// elements with a row stride of <paramref name="sourceStride"/> bytes; destination is sourceCols × sourceRows, its rows
    /// <paramref name="destinationStride"/> floats apart.
    /// </summary>
    public static void ToFloatTransposed(SafetensorsDType type, byte* source, long sourceStride, int sourceRows, int sourceCols, Span<float> destination, int destinationStride)
    {
        if (destinationStride < sourceRows || sourceCols > 0 && destination.Length < (long)(sourceCols - 1) * destinationStride + sourceRows)
            throw new ArgumentException("Destination too short.", nameof(destination));
        fixed (float* d = destination)
        {
            switch (type)
            {
                case SafetensorsDType.F32: Transposed<F32Rows>(source, sourceStride, sourceRows, sourceCols, d, destinationStride); break;
                case SafetensorsDType.BF16: Transposed<BFloat16Rows>(source, sourceStride, sourceRows, sourceCols, d, destinationStride); break;
                case SafetensorsDType.F16: Transposed<HalfRows>(source, sourceStride, sourceRows, sourceCols, d, destinationStride); break;
                default: throw new ArgumentOutOfRangeException(nameof(type));
            }
        }
    }

    // Column tiles outer, blocks of 16 rows inner: a tile's destination rows (TileCols pages at most) stay in the TLB
    // while the source streams past. Each 8 × 8 block is loaded, converted and transposed in registers; 16 rows go as
    // two blocks side by side, so each destination cache line is written whole at once.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transposed<T>(byte* source, long stride, int sourceRows, int sourceCols, float* destination, long ds) where T : struct, IRows
    {
        for (int c0 = 0; c0 < sourceCols; c0 += TileCols)
        {
            int c1 = Math.Min(sourceCols, c0 + TileCols);
            int r0 = 0;
            if (Avx2.IsSupported)
                for (; r0 <= sourceRows - BlockRows; r0 += BlockRows)
                {
                    byte* s = source + r0 * stride;
                    int c = c0;
                    for (; c <= c1 - 8; c += 8)
                    {
                        float* d = destination + c * ds + r0;
                        Transpose8x8<T>(s + (long)c * T.Size, stride, d, ds);
                        Transpose8x8<T>(s + 8 * stride + (long)c * T.Size, stride, d + 8, ds);
                    }
                    Scalar<T>(s, stride, BlockRows, c, c1, destination + r0, ds);
                }
            Scalar<T>(source + r0 * stride, stride, sourceRows - r0, c0, c1, destination + r0, ds);
        }
    }

    private static void Scalar<T>(byte* source, long stride, int rows, int c0, int c1, float* destination, long ds) where T : struct, IRows
    {
        for (int c = c0; c < c1; c++)
            for (int r = 0; r < rows; r++)
                destination[c * ds + r] = T.Element(source + r * stride + (long)c * T.Size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8<T>(byte* s, long stride, float* d, long ds) where T : struct, IRows
    {
        var r0 = T.Load(s);
        var r1 = T.Load(s + stride);
        var r2 = T.Load(s + 2 * stride);
        var r3 = T.Load(s + 3 * stride);
        var r4 = T.Load(s + 4 * stride);
        var r5 = T.Load(s + 5 * stride);
        var r6 = T.Load(s + 6 * stride);
        var r7 = T.Load(s + 7 * stride);
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

    /// <summary>Eight elements of one dtype as float32 (AVX2), or one element.</summary>
    private interface IRows
    {
        static abstract int Size { get; }
        static abstract Vector256<float> Load(byte* p);
        static abstract float Element(byte* p);
    }

    private struct F32Rows : IRows
    {
        public static int Size => 4;
        public static Vector256<float> Load(byte* p) => Avx.LoadVector256((float*)p);
        public static float Element(byte* p) => *(float*)p;
    }

    private struct BFloat16Rows : IRows
    {
        public static int Size => 2;
        public static Vector256<float> Load(byte* p) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((ushort*)p), 16).AsSingle();
        public static float Element(byte* p) => BitConverter.UInt32BitsToSingle((uint)*(ushort*)p << 16);
    }

    private struct HalfRows : IRows
    {
        public static int Size => 2;
        public static Vector256<float> Load(byte* p) => HalfToSingle(Avx2.ConvertToVector256Int32((ushort*)p).AsUInt32());
        public static float Element(byte* p) => (float)BitConverter.UInt16BitsToHalf(*(ushort*)p);
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
