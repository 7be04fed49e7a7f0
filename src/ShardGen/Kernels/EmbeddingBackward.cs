namespace ShardGen.Kernels;

/// <summary>Backward of <see cref="RowGather"/>: dTable[ids[t] − firstRow] += dOutput[t] for the shard's ids, repeats adding up.</summary>
internal static unsafe class EmbeddingBackward
{
    public static void ScatterAdd(int[] ids, int firstRow, float* dOutput, nint ldo, float* dTable, nint ldt, int tableRows, int cols)
    {
        for (int t = 0; t < ids.Length; t++)
        {
            long row = (long)ids[t] - firstRow;
            if (row >= 0 && row < tableRows) Elementwise.AddRow(dOutput + t * ldo, dTable + (nint)row * ldt, cols);
        }
    }
}
