using System;
using System.Runtime.InteropServices;
using ShardGen.Checkpoints;

namespace ShardGen.Tests.Checkpoints;

/// <summary>The vectorized conversions against System.Half and the bit definition of BF16, over every 16-bit pattern.</summary>
public sealed class ElementConversionTests
{
    [Fact]
    public void Every_half_converts_as_System_Half_does()
    {
        var bits = new ushort[65536 + 5];   // odd length: the scalar tail too
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)i;
        var result = new float[bits.Length];
        ElementConversion.ToFloat(SafetensorsDType.F16, MemoryMarshal.AsBytes(bits.AsSpan()), result);
        for (int i = 0; i < bits.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(bits[i]);
            Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(result[i]) || float.IsNaN(expected) && float.IsNaN(result[i]),
                $"half 0x{bits[i]:X4}: expected {expected}, got {result[i]}");
        }
    }

    [Fact]
    public void Every_bfloat16_is_the_top_half_of_a_float()
    {
        var bits = new ushort[65536 + 7];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)(i * 40503);
        var result = new float[bits.Length];
        ElementConversion.ToFloat(SafetensorsDType.BF16, MemoryMarshal.AsBytes(bits.AsSpan()), result);
        for (int i = 0; i < bits.Length; i++)
            Assert.Equal((uint)bits[i] << 16, BitConverter.SingleToUInt32Bits(result[i]));
    }

    [Theory]
    [InlineData(SafetensorsDType.F32, 1, 1)]
    [InlineData(SafetensorsDType.F32, 37, 530)]
    [InlineData(SafetensorsDType.BF16, 17, 259)]
    [InlineData(SafetensorsDType.F16, 300, 3)]
    [InlineData(SafetensorsDType.F32, 64, 2048)]
    [InlineData(SafetensorsDType.BF16, 48, 600)]
    public void Transposed_reads_equal_the_naive_transpose(SafetensorsDType type, int rows, int cols)
    {
        var random = new Random(rows * 1000 + cols);
        int size = type == SafetensorsDType.F32 ? 4 : 2;
        var bytes = new byte[rows * cols * size];
        var values = new float[rows * cols];
        for (int i = 0; i < values.Length; i++)
        {
            float v = (float)(random.NextDouble() * 4 - 2);
            switch (type)
            {
                case SafetensorsDType.F32: BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), v); values[i] = v; break;
                case SafetensorsDType.BF16:
                    ushort b = SafetensorsWriter.BFloat16(v);
                    BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), b);
                    values[i] = BitConverter.UInt32BitsToSingle((uint)b << 16);
                    break;
                default:
                    var h = (Half)v;
                    BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), h);
                    values[i] = (float)h;
                    break;
            }
        }
        var result = new float[rows * cols];
        ElementConversion.ToFloatTransposed(type, bytes, rows, cols, result);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                Assert.Equal(values[r * cols + c], result[c * rows + r]);
    }
}
