namespace ShardGen.Planning;

/// <summary>
/// Splits <c>total</c> items into <c>parts</c> contiguous ranges as evenly as possible: the first
/// <c>total % parts</c> ranges get one extra item. One rule for every split that need not divide: token ranges
/// (sequence parallelism, SUMMA's grid rows; a range may be empty when there are fewer tokens than parts) and the
/// ring collectives' chunks.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class EvenRanges
{
    public static int Start(int total, int parts, int index)
    {
        int q = total / parts, r = total % parts;
        return index * q + (index < r ? index : r);
    }

    public static int Length(int total, int parts, int index)
    {
        int q = total / parts, r = total % parts;
        return q + (index < r ? 1 : 0);
    }
}
