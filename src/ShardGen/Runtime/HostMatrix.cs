using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ShardGen.Runtime;

/// <summary>Row-major spans over host <c>float[,]</c> arrays, without copying.</summary>
internal static class HostMatrix
{
    public static Span<float> Span(float[,] matrix) =>
        MemoryMarshal.CreateSpan(ref Unsafe.As<byte, float>(ref MemoryMarshal.GetArrayDataReference(matrix)), matrix.Length);

    /// <summary>The elements from (row, col) on, for an upload of a sub-matrix with the array's row stride.</summary>
    public static ReadOnlySpan<float> From(float[,] matrix, int row, int col) =>
        Span(matrix).Slice(row * matrix.GetLength(1) + col);
}
