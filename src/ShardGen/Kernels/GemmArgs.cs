namespace ShardGen.Kernels;

/// <summary>
/// One float32 GEMM on raw row-major memory: <c>C = (Accumulate ? C : 0) + op(A)·op(B)</c>, then
/// <c>C[r, c] = act(C[r, c] + Bias[c])</c> when <see cref="HasEpilogue"/>. op(A) is [M, K], op(B) is [K, N].
/// </summary>
internal readonly unsafe struct GemmArgs
{
    public GemmArgs(float* a, int lda, bool transA, float* b, int ldb, bool transB, float* c, int ldc,
        int m, int n, int k, bool accumulate, float* bias, Activation activation)
    {
        A = a; Lda = lda; TransA = transA;
        B = b; Ldb = ldb; TransB = transB;
        C = c; Ldc = ldc;
        M = m; N = n; K = k;
        Accumulate = accumulate; Bias = bias; Activation = activation;
    }

    public readonly float* A;
    public readonly int Lda;
    public readonly bool TransA;
    public readonly float* B;
    public readonly int Ldb;
    public readonly bool TransB;
    public readonly float* C;
    public readonly int Ldc;
    public readonly int M, N, K;
    public readonly bool Accumulate;
    /// <summary>Null, or N floats added to every row of C.</summary>
    public readonly float* Bias;
    public readonly Activation Activation;

    public bool HasEpilogue => Bias != null || Activation != Activation.None;

    /// <summary>The sub-problem of rows [i0, i0+m) of C (A and C move, B stays).</summary>
    public GemmArgs RowSlice(int i0, int m)
    {
        float* a = TransA ? A + i0 : A + (nint)i0 * Lda;
        return new GemmArgs(a, Lda, TransA, B, Ldb, TransB, C + (nint)i0 * Ldc, Ldc, m, N, K, Accumulate, Bias, Activation);
    }

    /// <summary>The sub-problem of columns [j0, j0+n) of C (B, C and the bias move, A stays).</summary>
    public GemmArgs ColumnSlice(int j0, int n)
    {
        float* b = TransB ? B + (nint)j0 * Ldb : B + j0;
        float* bias = Bias == null ? null : Bias + j0;
        return new GemmArgs(A, Lda, TransA, b, Ldb, TransB, C + j0, Ldc, M, n, K, Accumulate, bias, Activation);
    }
}
