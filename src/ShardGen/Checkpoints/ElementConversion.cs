using System;
using System.Runtime.Intrinsics;

namespace ShardGen.Checkpoints;

/// <summary>
/// Safetensors elements to float32, vectorized: BF16 is the top half of a float32 (a 16-bit shift); F16 is rebased
/// with one multiply by 2^112 (exact for normals and subnormals) plus the exponent of infinities and NaNs.
/// </summary>
internal static unsafe class ElementConversion
{
    // Transposed reads go through an L1-sized tile: TileRows source rows × TileCols source columns.
    private const int TileRows = 16, TileCols = 256;

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
        fixed (float* d = destination)
        {
            int n = destination.Length;
            switch (type)
            {
                case SafetensorsDType.F32: new ReadOnlySpan<float>(source, n).CopyTo(destination); break;
                case SafetensorsDType.BF16: FromBFloat16((ushort*)source, d, n); break;
                case SafetensorsDType.F16: FromHalf((ushort*)source, d, n); break;
                default: throw new ArgumentOutOfRangeException(nameof(type));
            }
        }
    }

    /// <summary>
    /// destination[c, r] = source[r, c] for a source of <paramref name="sourceRows"/> × <paramref name="sourceCols"/>
    /// elements with a row stride of <paramref name="sourceStride"/> bytes; destination is sourceCols × sourceRows.
    /// </summary>
    public static void ToFloatTransposed(SafetensorsDType type, byte* source, long sourceStride, int sourceRows, int sourceCols, Span<float> destination)
    {
        int size = SafetensorsDTypes.Size(type);
        Span<float> tile = stackalloc float[TileRows * TileCols];
        for (int r0 = 0; r0 < sourceRows; r0 += TileRows)
        {
            int tileRows = Math.Min(TileRows, sourceRows - r0);
            for (int c0 = 0; c0 < sourceCols; c0 += TileCols)
            {
                int tileCols = Math.Min(TileCols, sourceCols - c0);
                for (int i = 0; i < tileRows; i++)
                    ToFloat(type, source + (r0 + i) * sourceStride + (long)c0 * size, tile.Slice(i * TileCols, tileCols));
                for (int j = 0; j < tileCols; j++)
                {
                    var row = destination.Slice((c0 + j) * sourceRows + r0, tileRows);
                    for (int i = 0; i < tileRows; i++) row[i] = tile[i * TileCols + j];
                }
            }
        }
    }

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
