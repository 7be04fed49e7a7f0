namespace ShardGen.Ilgpu.Kernels;

// Kernel arguments travel as small unmanaged structs: every view is (buffer, offset, stride) and the kernels
// index the whole buffer, so strided MatrixViews and shards need no copies.

/// <summary>
/// C[z] = (accumulate ? C[z] : 0) + op(A[z])·op(B[z]) then act(· + bias), for batch z = Grid.IdxZ.
/// Batch z reads A at AOffset + z·ABatch, B at BOffset + (z / BBatchDivisor)·BBatch (grouped-query attention:
/// several query heads read one key/value head) and writes C at COffset + z·CBatch.
/// </summary>
internal struct GemmParams
{
    public int M, N, K;
    public int AOffset, Lda, ABatch, TransposeA;
    public int BOffset, Ldb, BBatch, BBatchDivisor, TransposeB;
    public int COffset, Ldc, CBatch;
    public int Accumulate, HasBias, BiasOffset, Activation;
    public int ShiftM, ShiftN; // log2 of the group's tile of C: 8·Group.DimY rows, 8·Group.DimX columns
}

/// <summary>Where a rows × cols view lies in its buffer: first element at Offset, Stride floats between rows.</summary>
internal struct ViewLayout
{
    public int Offset, Stride, Cols;

    public ViewLayout(int offset, int stride, int cols)
    {
        Offset = offset;
        Stride = stride;
        Cols = cols;
    }
}

/// <summary>Per-element bias + activation over a rows × cols view.</summary>
internal struct BiasActivationParams
{
    public ViewLayout C;
    public int HasBias, BiasOffset, Activation;
}

/// <summary>One row per group: LayerNorm (Kind 0) or RmsNorm (Kind 1).</summary>
internal struct NormParams
{
    public int XOffset, Ldx, YOffset, Ldy, Cols;
    public int GammaOffset, BetaOffset, HasBeta, Kind;
    public float Epsilon;
}

/// <summary>
/// One row per group of Heads·QueryRows score rows (head-major, QueryRows×Length per head, packed): scaled softmax
/// over the keys query i = FirstQuery + (row mod QueryRows) sees. Column j holds key FirstKey + j; the query sees keys
/// up to i when causal (all Length columns otherwise) and, under a sliding Window W &gt; 0 (causal only), from
/// i − W + 1. Only those columns are read and written; the others are left as they are and must not be read.
/// </summary>
internal struct SoftmaxParams
{
    public int Offset, Length, Causal, QueryRows, FirstQuery, FirstKey, Window;
    public float Scale;
}

/// <summary>
/// P·V of a causal strip of QueryRows queries over the keys they do not all share, one thread per (head, query,
/// column). Score column j (ScoreLd floats per row, QueryRows·ScoreLd per head) holds the key whose value row is at
/// VOffset + j·Ldv + (h / Group)·HeadDim; query q's own key is column Diagonal + q and, under a Window W &gt; 0, its
/// first is column Diagonal + q − W + 1 (at least 0). A GEMM has put the columns [Shared, Diagonal), which every query
/// sees, in the output (Accumulate = 1); this adds query q's columns before Shared and its diagonal [Diagonal, q].
/// The output row q of head h is at OOffset + q·Ldo + h·HeadDim.
/// </summary>
internal struct CausalBandParams
{
    public int QueryRows, Diagonal, Shared, Window, HeadDim, Group, ScoreLd;
    public int VOffset, Ldv, OOffset, Ldo, Accumulate;
}

/// <summary>Row lookup: output row t = table row ids[t] − FirstRow when inside the TableRows rows, else zeros.</summary>
internal struct GatherParams
{
    public ViewLayout Table, Output;
    public int TableRows, FirstRow;
}

/// <summary>
/// Rotary turn of Heads heads (HeadDim wide) of each row of X, one thread per (row, head, pair). The angle table holds
/// cos of position p, pair i at p·HeadDim/2 + i, and sin at SinOffset past it; row t's position is positions[t].
/// </summary>
internal struct RotaryParams
{
    public ViewLayout X;
    public int Heads, HeadDim, SinOffset;
}

/// <summary>output[r, j] = act(gateUp[r, j])·gateUp[r, N + j], N = Output.Cols.</summary>
internal struct GatedParams
{
    public ViewLayout GateUp, Output;
    public int Activation;
}
