using System;

namespace ShardGen.Kernels;

/// <summary>The rows of a vocab-parallel embedding shard: out[t] = table[ids[t] − firstRow], zeros for rows another shard holds.</summary>
internal static unsafe class RowGather
{
    public static void Run(int[] ids, int firstRow, float* table, nint ldt, int tableRows, float* output, nint ldo, int cols)
    {
        for (int t = 0; t < ids.Length; t++)
        {
            // long: ids near int.MaxValue minus a negative offset must not wrap into the table.
            long row = (long)ids[t] - firstRow;
            float* o = output + t * ldo;
            if (row >= 0 && row < tableRows) Elementwise.CopyRow(table + (nint)row * ldt, o, cols);
            else new Span<float>(o, cols).Clear();
        }
    }

    /// <summary>As above from a bfloat16 table (a BF16 checkpoint's embedding kept in place), each row widened exactly.</summary>
    public static void Run(int[] ids, int firstRow, ushort* table, nint ldt, int tableRows, float* output, nint ldo, int cols)
    {
        for (int t = 0; t < ids.Length; t++)
        {
            long row = (long)ids[t] - firstRow;
            float* o = output + t * ldo;
            if (row >= 0 && row < tableRows) BFloat16.Widen(table + (nint)row * ldt, o, cols);
            else new Span<float>(o, cols).Clear();
        }
    }
}
