namespace ShardGen.Planning;

/// <summary>
/// Splits <c>total</c> items into <c>parts</c> contiguous blocks as evenly as possible: the first
/// <c>total % parts</c> blocks get one extra item. Used for tokens, which need not divide by the grid size
/// (a block may be empty when there are fewer tokens than grid rows).
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class BlockPartition
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
