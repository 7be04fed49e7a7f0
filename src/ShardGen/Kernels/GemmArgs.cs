namespace ShardGen.Kernels;

/// <summary>
/// One float32 GEMM on raw row-major memory: <c>C = (Accumulate ? C : 0) + op(A)·op(B)</c>, then
/// <c>C[r, c] = act(C[r, c] + Bias[c])</c> when <see cref="HasEpilogue"/>. op(A) is [M, K], op(B) is [K, N].
/// B may instead be bfloat16 (<see cref="B16"/>: weights kept as a BF16 checkpoint stores them); A, C and the bias
/// are always float32, and products are formed in float32 (B widened exactly), so only B's bytes halve.
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

    /// <summary>B in bfloat16 (the upper half of a float32's bits), addressed in bfloat16 elements.</summary>
    public GemmArgs(float* a, int lda, bool transA, ushort* b16, int ldb, bool transB, float* c, int ldc,
        int m, int n, int k, bool accumulate, float* bias, Activation activation)
        : this(a, lda, transA, (float*)null, ldb, transB, c, ldc, m, n, k, accumulate, bias, activation)
    {
        B16 = b16;
    }

    public readonly float* A;
    public readonly int Lda;
    public readonly bool TransA;
    /// <summary>B in float32; null when B is bfloat16 (<see cref="B16"/>).</summary>
    public readonly float* B;
    /// <summary>B in bfloat16; null when B is float32.</summary>
    public readonly ushort* B16;
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
        return B16 != null
            ? new GemmArgs(a, Lda, TransA, B16, Ldb, TransB, C + (nint)i0 * Ldc, Ldc, m, N, K, Accumulate, Bias, Activation)
            : new GemmArgs(a, Lda, TransA, B, Ldb, TransB, C + (nint)i0 * Ldc, Ldc, m, N, K, Accumulate, Bias, Activation);
    }

    /// <summary>The sub-problem of columns [j0, j0+n) of C (B, C and the bias move, A stays).</summary>
    public GemmArgs ColumnSlice(int j0, int n)
    {
        nint skip = TransB ? (nint)j0 * Ldb : j0;
        float* bias = Bias == null ? null : Bias + j0;
        if (B16 != null) return new GemmArgs(A, Lda, TransA, B16 + skip, Ldb, TransB, C + j0, Ldc, M, n, K, Accumulate, bias, Activation);
        float* b = B + skip;
        return new GemmArgs(A, Lda, TransA, b, Ldb, TransB, C + j0, Ldc, M, n, K, Accumulate, bias, Activation);
    }
}
