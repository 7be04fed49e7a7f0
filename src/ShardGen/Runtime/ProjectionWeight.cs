using System;
using System.Collections.Generic;
using System.Threading;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// One device's weight of a projection shard: one or more stored parts side by side along its output columns, all in
/// one orientation. [in, out] parts (<see cref="Transposed"/> false) are used as they are; [out, in] parts (a LLaMA
/// checkpoint's tensors viewed in place) through transposed GEMMs. A copied shard is one part (q|k|v or gate|up fused,
/// one GEMM); a shard viewed in a checkpoint's mapping has one part per tensor (q, k and v; gate and up). A gradient
/// twin has its parameter's orientation, so optimizers and norms stay elementwise.
/// </summary>
public sealed class ProjectionWeight
{
    private readonly MatrixView[] _parts;
    private readonly int[] _firstColumn;

    // Sections made by Columns, kept: the shared-KV backward asks a twin for the same q and k|v columns every step.
    // Replaced whole on a miss (copy on write), so a reader never sees a half-built list.
    private (int Col0, int Cols, ProjectionWeight Section)[] _sections = [];

    /// <param name="transposed">True when every part is stored [out, in].</param>
    /// <param name="parts">The parts, left to right along the output columns; the same input size each.</param>
    public ProjectionWeight(bool transposed, params MatrixView[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException("A projection weight has at least one part.", nameof(parts));
        Transposed = transposed;
        _parts = parts;
        _firstColumn = new int[parts.Length];
        In = InOf(parts[0]);
        for (int i = 0; i < parts.Length; i++)
        {
            if (InOf(parts[i]) != In)
                throw new ArgumentException($"Part {i} of a projection weight reads {InOf(parts[i])} inputs, part 0 reads {In}.", nameof(parts));
            _firstColumn[i] = Out;
            Out += OutOf(parts[i]);
        }
    }

    /// <summary>One [in, out] part: a copied shard.</summary>
    public ProjectionWeight(MatrixView weight) : this(false, weight) { }

    /// <summary>True when the parts are stored [out, in] (the GEMMs read them transposed).</summary>
    public bool Transposed { get; }

    /// <summary>The parts, left to right along the output columns.</summary>
    public IReadOnlyList<MatrixView> Parts => _parts;

    /// <summary>Input features (rows of the logical [in, out] weight).</summary>
    public int In { get; }

    /// <summary>Output features: the parts' widths added.</summary>
    public int Out { get; }

    /// <summary>The first output column of part <paramref name="i"/>.</summary>
    public int FirstColumn(int i) => _firstColumn[i];

    /// <summary>The only part, for code that handles one stored matrix (a float model's shards are always one part).</summary>
    public MatrixView Single => _parts.Length == 1 ? _parts[0]
        : throw new InvalidOperationException($"This projection weight has {_parts.Length} parts (a checkpoint's tensors viewed in place), not one.");

    /// <summary>
    /// Logical output columns [<paramref name="col0"/>, +<paramref name="cols"/>): the pieces of the parts that hold
    /// them, made on the first call and the same object on later ones (a view: it allocates nothing after the first).
    /// </summary>
    public ProjectionWeight Columns(int col0, int cols)
    {
        if (col0 < 0 || cols <= 0 || col0 + cols > Out)
            throw new ArgumentOutOfRangeException(nameof(col0), $"Columns [{col0}, +{cols}) are outside a projection weight of {Out} output columns.");
        var sections = Volatile.Read(ref _sections);
        foreach (var (c0, n, section) in sections)
            if (c0 == col0 && n == cols) return section;
        var made = Section(col0, cols);
        Volatile.Write(ref _sections, [.. sections, (col0, cols, made)]);
        return made;
    }

    private ProjectionWeight Section(int col0, int cols)
    {
        var pieces = new List<MatrixView>();
        for (int i = 0; i < _parts.Length; i++)
        {
            int first = Math.Max(col0, _firstColumn[i]), end = Math.Min(col0 + cols, _firstColumn[i] + OutOf(_parts[i]));
            if (first < end) pieces.Add(Outputs(_parts[i], first - _firstColumn[i], end - first));
        }
        return new ProjectionWeight(Transposed, [.. pieces]);
    }

    /// <summary>y = x·W (+ bias, activation) on <paramref name="device"/>: one GEMM per part into its output columns.</summary>
    public void Forward(Device device, MatrixView x, MatrixView y, MatrixView? bias = null, Activation activation = Activation.None)
    {
        for (int i = 0; i < _parts.Length; i++)
        {
            int c0 = _firstColumn[i], n = OutOf(_parts[i]);
            device.Gemm(x, false, _parts[i], Transposed, y.Columns(c0, n), accumulate: false, bias?.Columns(c0, n), activation);
        }
    }

    /// <summary>dX = dY·Wᵀ: the parts' products added (the first overwrites <paramref name="dx"/>).</summary>
    public void InputGradient(Device device, MatrixView dy, MatrixView dx)
    {
        for (int i = 0; i < _parts.Length; i++)
            device.Gemm(dy.Columns(_firstColumn[i], OutOf(_parts[i])), false, _parts[i], !Transposed, dx, accumulate: i > 0);
    }

    /// <summary>This (a gradient twin) += Xᵀ·dY, each part in its orientation (dYᵀ·X for [out, in] parts).</summary>
    public void AddWeightGradient(Device device, MatrixView x, MatrixView dy)
    {
        for (int i = 0; i < _parts.Length; i++)
        {
            var dyPart = dy.Columns(_firstColumn[i], OutOf(_parts[i]));
            if (Transposed) device.Gemm(dyPart, true, x, false, _parts[i], accumulate: true);
            else device.Gemm(x, true, dyPart, false, _parts[i], accumulate: true);
        }
    }

    /// <summary>This += <paramref name="source"/>, a matrix in this weight's orientation ([in, out], or [out, in] when transposed).</summary>
    public void Add(Device device, MatrixView source)
    {
        for (int i = 0; i < _parts.Length; i++)
            device.Add(Outputs(source, _firstColumn[i], OutOf(_parts[i])), _parts[i]);
    }

    private int InOf(MatrixView part) => Transposed ? part.Cols : part.Rows;

    private int OutOf(MatrixView part) => Transposed ? part.Rows : part.Cols;

    // Output columns of a matrix in this orientation: columns of [in, out], rows of [out, in] (activations' are always columns).
    private MatrixView Outputs(MatrixView stored, int c0, int n) => Transposed ? stored.RowsOf(c0, n) : stored.Columns(c0, n);
}
