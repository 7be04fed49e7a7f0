using System;

namespace ShardGen.Devices;

// Enqueue-time argument checks every backend applies with the same rules and words: a bad call fails in the
// caller's stack, never inside a device's worker.
public abstract partial class Device
{
    /// <summary>
    /// Checks that <paramref name="view"/> is a live buffer of this device and lies inside it, and holds float32 unless
    /// the operation reads bfloat16 weights too (<paramref name="acceptsBFloat16"/>: GEMM's B, a gather's table, a download).
    /// </summary>
    protected internal void CheckView(MatrixView view, string name, bool acceptsBFloat16 = false)
    {
        if (view.Buffer is null)
            throw new ArgumentException($"{name} is an empty MatrixView with no buffer.", name);
        var buffer = view.Buffer;
        if (!ReferenceEquals(buffer.Device, this))
            throw new ArgumentException($"{name} {view} belongs to device {view.Buffer.Device.Name}, not to {Name}; move data between devices with the collectives.", name);
        if (buffer.IsDisposed)
            throw new ObjectDisposedException(name, $"{name} {view} on {Name} uses a buffer that was disposed.");
        if (view.Rows < 0 || view.Cols < 0 || view.Offset < 0)
            throw new ArgumentException($"{name} has a negative offset or size ({view.Rows}×{view.Cols} at {view.Offset}).", name);
        if (view.Rows > 1 && view.Stride < view.Cols)
            throw new ArgumentException($"{name} has stride {view.Stride}, less than its {view.Cols} columns.", name);
        if (buffer.Element != ElementType.Float32 && !acceptsBFloat16)
            throw new ArgumentException(
                $"{name} {view} on {Name} holds {buffer.Element} weights kept as the checkpoint stores them: they are read-only and only " +
                "GEMMs (as B), gathers and downloads read them. Load with keepBFloat16: false to train or to compute on them otherwise.", name);
        // An empty view touches no memory (an empty slice may sit just past a strided matrix's end).
        if (view.Rows == 0 || view.Cols == 0) return;
        long end = view.Offset + (long)(view.Rows - 1) * view.Stride + view.Cols;
        if (end > buffer.Length)
            throw new ArgumentException($"{name} {view} (offset {view.Offset}, stride {view.Stride}) ends at element {end}, past the buffer's {buffer.Length}.", name);
    }

    /// <summary>
    /// True when <see cref="CheckView"/> would accept <paramref name="view"/>: lets callers that build the argument
    /// name per element (name[i]) skip formatting it for the views that pass.
    /// </summary>
    protected internal bool IsValidView(MatrixView view)
    {
        var buffer = view.Buffer;
        if (buffer is null || !ReferenceEquals(buffer.Device, this) || buffer.IsDisposed || buffer.Element != ElementType.Float32) return false;
        if (view.Rows < 0 || view.Cols < 0 || view.Offset < 0 || (view.Rows > 1 && view.Stride < view.Cols)) return false;
        return view.Rows == 0 || view.Cols == 0 || view.Offset + (long)(view.Rows - 1) * view.Stride + view.Cols <= buffer.Length;
    }

    protected internal static void CheckHostSpan(int length, int stride, MatrixView view, string name)
    {
        if (view.Rows > 1 && stride < view.Cols)
            throw new ArgumentException($"Host stride {stride} is less than the {view.Cols} columns of {view}.", name);
        long needed = view.Rows == 0 || view.Cols == 0 ? 0 : (long)(view.Rows - 1) * stride + view.Cols;
        if (length < needed)
            throw new ArgumentException($"Host span of {length} floats is too short for {view} with stride {stride} ({needed} needed).", name);
    }

    protected internal void CheckBias(MatrixView bias, MatrixView c)
    {
        CheckView(bias, nameof(bias));
        if (bias.Rows != 1 || bias.Cols != c.Cols)
            throw new ArgumentException($"Bias on {Name} must be 1×{c.Cols} to match C, but is {bias.Rows}×{bias.Cols}.", nameof(bias));
    }

    protected internal static void CheckActivation(Activation activation)
    {
        if (activation < Activation.None || activation > Activation.Sigmoid)
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
    }

    protected internal void CheckSameShape(MatrixView source, MatrixView destination, string op)
    {
        if (source.Rows != destination.Rows || source.Cols != destination.Cols)
            throw new ArgumentException($"{op} on {Name}: source is {source.Rows}×{source.Cols} but destination is {destination.Rows}×{destination.Cols}.", nameof(destination));
    }

    /// <summary>True when the element ranges of two views in the same buffer intersect.</summary>
    protected internal static bool Overlaps(MatrixView x, MatrixView y)
    {
        if (!ReferenceEquals(x.Buffer, y.Buffer) || x.Elements == 0 || y.Elements == 0) return false;
        long x0 = x.Offset, x1 = x.Offset + (long)(x.Rows - 1) * x.Stride + x.Cols;
        long y0 = y.Offset, y1 = y.Offset + (long)(y.Rows - 1) * y.Stride + y.Cols;
        if (x1 <= y0 || y1 <= x0) return false;
        // Interleaved strided views (e.g. two column blocks of one matrix) share a range but no element.
        if (x.Rows == 1) return RowHits(x.Offset, x.Cols, y);
        if (y.Rows == 1) return RowHits(y.Offset, y.Cols, x);
        int stride = x.Stride;
        if (stride > 0 && y.Stride == stride && x.Offset % stride + x.Cols <= stride && y.Offset % stride + y.Cols <= stride)
        {
            long xr = x.Offset / stride, yr = y.Offset / stride, xc = x.Offset % stride, yc = y.Offset % stride;
            bool rows = xr < yr + y.Rows && yr < xr + x.Rows;
            bool cols = xc < yc + y.Cols && yc < xc + x.Cols;
            return rows && cols;
        }
        return true;
    }

    private static bool RowHits(long start, int length, MatrixView v)
    {
        for (int r = 0; r < v.Rows; r++)
        {
            long r0 = v.Offset + (long)r * v.Stride;
            if (r0 < start + length && start < r0 + v.Cols) return true;
        }
        return false;
    }

    /// <summary>The rules of <see cref="Allocate"/>'s argument, for every backend.</summary>
    protected internal static void CheckAllocate(int elements)
    {
        if (elements < 0) throw new ArgumentOutOfRangeException(nameof(elements), elements, "Cannot allocate a negative number of elements.");
    }

    /// <summary>The rules of <see cref="Upload"/>'s arguments, for every backend.</summary>
    protected internal void CheckUpload(ReadOnlySpan<float> source, int sourceStride, MatrixView destination)
    {
        CheckView(destination, nameof(destination));
        CheckHostSpan(source.Length, sourceStride, destination, nameof(source));
    }

    /// <summary>The rules of <see cref="Download"/>'s arguments, for every backend.</summary>
    protected internal void CheckDownload(MatrixView source, ReadOnlySpan<float> destination, int destinationStride)
    {
        CheckView(source, nameof(source), acceptsBFloat16: true);
        CheckHostSpan(destination.Length, destinationStride, source, nameof(destination));
    }

    /// <summary>
    /// The rules of <see cref="Gemm"/>'s arguments, for every backend; <paramref name="k"/> is the inner dimension
    /// of op(A)·op(B).
    /// </summary>
    protected internal void CheckGemm(MatrixView a, bool transposeA, MatrixView b, bool transposeB, MatrixView c,
        MatrixView? bias, Activation activation, out int k)
    {
        CheckView(a, nameof(a));
        CheckView(b, nameof(b), acceptsBFloat16: AdoptsHostMemory);
        CheckView(c, nameof(c));
        CheckActivation(activation);
        int aRows = transposeA ? a.Cols : a.Rows, aK = transposeA ? a.Rows : a.Cols;
        int bK = transposeB ? b.Cols : b.Rows, bCols = transposeB ? b.Rows : b.Cols;
        if (aRows != c.Rows)
            throw new ArgumentException($"GEMM on {Name}: op(A) has {aRows} rows but C is {c.Rows}×{c.Cols} (A is {a.Rows}×{a.Cols}, transposeA={transposeA}).", nameof(a));
        if (bCols != c.Cols)
            throw new ArgumentException($"GEMM on {Name}: op(B) has {bCols} columns but C is {c.Rows}×{c.Cols} (B is {b.Rows}×{b.Cols}, transposeB={transposeB}).", nameof(b));
        if (aK != bK)
            throw new ArgumentException($"GEMM on {Name}: inner dimensions differ, op(A) is {aRows}×{aK} but op(B) is {bK}×{bCols}.", nameof(b));
        if (bias is { } bv) CheckBias(bv, c);
        if (Overlaps(a, c) || Overlaps(b, c))
            throw new ArgumentException($"GEMM on {Name}: C must not overlap A or B.", nameof(c));
        k = aK;
    }

    /// <summary>The rules of <see cref="BiasActivation"/>'s arguments, for every backend.</summary>
    protected internal void CheckBiasActivation(MatrixView c, MatrixView? bias, Activation activation)
    {
        CheckView(c, nameof(c));
        CheckActivation(activation);
        if (bias is { } bv) CheckBias(bv, c);
    }

    /// <summary>The rules of <see cref="Copy"/>'s and <see cref="Add"/>'s arguments (<paramref name="op"/> names which), for every backend.</summary>
    protected internal void CheckElementwise(MatrixView source, MatrixView destination, string op)
    {
        CheckView(source, nameof(source));
        CheckView(destination, nameof(destination));
        CheckSameShape(source, destination, op);
    }

    /// <summary>The rules of <see cref="Normalize"/>'s arguments, for every backend.</summary>
    protected internal void CheckNormalize(MatrixView x, MatrixView y, NormKind kind, MatrixView gamma, MatrixView? beta, float epsilon)
    {
        CheckView(x, nameof(x));
        CheckView(y, nameof(y));
        CheckView(gamma, nameof(gamma));
        if (kind != NormKind.LayerNorm && kind != NormKind.RmsNorm)
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown normalization.");
        if (!(epsilon >= 0f) || float.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"Normalize on {Name}: epsilon must be finite and ≥ 0.");
        CheckSameShape(x, y, "Normalize");
        CheckNormParameter(gamma, x, nameof(gamma));
        // β is ignored by RmsNorm, but a malformed one is still a caller bug worth reporting.
        if (beta is { } bv)
        {
            CheckView(bv, nameof(beta));
            CheckNormParameter(bv, x, nameof(beta));
        }
        // Rows are normalized one at a time, so y may be x itself but must not straddle other rows of x or γ/β.
        if (x != y && Overlaps(x, y))
            throw new ArgumentException($"Normalize on {Name}: y {y} overlaps x {x} without being the same view.", nameof(y));
        if (Overlaps(gamma, y) || (beta is { } bo && Overlaps(bo, y)))
            throw new ArgumentException($"Normalize on {Name}: y must not overlap gamma or beta.", nameof(y));
    }

    private void CheckNormParameter(MatrixView p, MatrixView x, string name)
    {
        if (p.Rows != 1 || p.Cols != x.Cols)
            throw new ArgumentException($"Normalize on {Name}: {name} must be 1×{x.Cols} to match x ({x.Rows}×{x.Cols}), but is {p.Rows}×{p.Cols}.", name);
    }

    /// <summary>The rules of <see cref="Attention(MatrixView, MatrixView, AttentionShape)"/>'s arguments, for every backend.</summary>
    protected internal void CheckAttention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate();
        CheckView(qkv, nameof(qkv));
        CheckView(output, nameof(output));
        if (qkv.Rows != shape.Tokens || qkv.Cols != shape.FusedWidth)
            throw new ArgumentException($"{What(shape)}: qkv must be {shape.Tokens}×{shape.FusedWidth} but is {qkv.Rows}×{qkv.Cols}.", nameof(qkv));
        if (output.Rows != shape.Tokens || output.Cols != shape.OutputWidth)
            throw new ArgumentException($"{What(shape)}: output must be {shape.Tokens}×{shape.OutputWidth} but is {output.Rows}×{output.Cols}.", nameof(output));
        if (Overlaps(qkv, output))
            throw new ArgumentException($"{What(shape)}: output must not overlap qkv.", nameof(output));
    }

    // Built only for an error message: a passing call must not allocate.
    private string What(AttentionShape shape) =>
        $"Attention on {Name} ({shape.QueryHeads} query heads, {shape.KvHeads} kv heads, head dim {shape.HeadDim}, {shape.Tokens} tokens)";
}
