using System.Runtime.Intrinsics;

namespace ShardGen.Kernels;

/// <summary>Vectorised copy/add over rows and strided matrices (used by Copy, Add and the collectives).</summary>
internal static unsafe class Elementwise
{
    /// <summary>
    /// dst[j] = src[j]. Buffer.MemoryCopy is memmove (safe when a Copy's views overlap, which Device.Copy allows) and
    /// already vectorised.
    /// </summary>
    public static void CopyRow(float* src, float* dst, int n)
    {
        System.Buffer.MemoryCopy(src, dst, (long)n * sizeof(float), (long)n * sizeof(float));
    }

    /// <summary>dst[j] += src[j].</summary>
    public static void AddRow(float* src, float* dst, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; j + 16 <= n; j += 16) Vector512.Store(Vector512.Load(dst + j) + Vector512.Load(src + j), dst + j);
        else if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= n; j += 8) Vector256.Store(Vector256.Load(dst + j) + Vector256.Load(src + j), dst + j);
        for (; j < n; j++) dst[j] += src[j];
    }

    public static void Copy(float* src, nint srcStride, float* dst, nint dstStride, int rows, int cols)
    {
        if (src == dst && srcStride == dstStride) return;
        if (srcStride == cols && dstStride == cols)
        {
            CopyRow(src, dst, rows * cols);
            return;
        }
        for (int r = 0; r < rows; r++) CopyRow(src + r * srcStride, dst + r * dstStride, cols);
    }

    /// <summary>dst += src over a rows×cols matrix.</summary>
    public static void Add(float* src, nint srcStride, float* dst, nint dstStride, int rows, int cols)
    {
        if (srcStride == cols && dstStride == cols)
        {
            AddRow(src, dst, rows * cols);
            return;
        }
        for (int r = 0; r < rows; r++) AddRow(src + r * srcStride, dst + r * dstStride, cols);
    }
}
