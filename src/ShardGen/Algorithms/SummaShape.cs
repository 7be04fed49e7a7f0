using System;
using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Algorithms;

/// <summary>The global M, N, K of a SUMMA call, read from the blocks and checked against EvenRanges.</summary>
internal readonly struct SummaShape
{
    private readonly int _q;

    private SummaShape(int q, int m, int n, int k)
    {
        _q = q;
        Rows = m;
        Cols = n;
        Depth = k;
    }

    public int Rows { get; }
    public int Cols { get; }
    public int Depth { get; }

    public int M(int block) => EvenRanges.Length(Rows, _q, block);
    public int N(int block) => EvenRanges.Length(Cols, _q, block);
    public int K(int block) => EvenRanges.Length(Depth, _q, block);

    public static SummaShape Infer(DeviceGrid grid, SummaVariant variant, IReadOnlyList<MatrixView> a,
        IReadOnlyList<MatrixView> b, IReadOnlyList<MatrixView> c)
    {
        int q = grid.Q, size = grid.Mesh.Size;
        Count(a, size, nameof(a));
        Count(b, size, nameof(b));
        Count(c, size, nameof(c));
        // Global sizes: sum the blocks down grid column 0 / along grid row 0.
        int SumRows(IReadOnlyList<MatrixView> x) { int t = 0; for (int r = 0; r < q; r++) t += x[grid.RankOf(r, 0)].Rows; return t; }
        int SumCols(IReadOnlyList<MatrixView> x) { int t = 0; for (int r = 0; r < q; r++) t += x[grid.RankOf(0, r)].Cols; return t; }
        int m = SumRows(c), n = SumCols(c);
        int k = variant == SummaVariant.AtB ? SumRows(a) : SumCols(a);
        var shape = new SummaShape(q, m, n, k);
        for (int rank = 0; rank < size; rank++)
        {
            int r = grid.GridRowOf(rank), col = grid.GridColumnOf(rank);
            var device = grid.Mesh.Devices[rank];
            switch (variant)
            {
                case SummaVariant.AB:
                    Expect(a, rank, device, shape.M(r), shape.K(col), "A", variant);
                    Expect(b, rank, device, shape.K(r), shape.N(col), "B", variant);
                    break;
                case SummaVariant.ABt:
                    Expect(a, rank, device, shape.M(r), shape.K(col), "A", variant);
                    Expect(b, rank, device, shape.N(r), shape.K(col), "B", variant);
                    break;
                case SummaVariant.AtB:
                    Expect(a, rank, device, shape.K(r), shape.M(col), "A", variant);
                    Expect(b, rank, device, shape.K(r), shape.N(col), "B", variant);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(variant), variant, "Unknown SUMMA variant.");
            }
            Expect(c, rank, device, shape.M(r), shape.N(col), "C", variant);
        }
        return shape;
    }

    private static void Count(IReadOnlyList<MatrixView> x, int size, string name)
    {
        ArgumentNullException.ThrowIfNull(x, name);
        if (x.Count != size)
            throw new ArgumentException($"SUMMA needs one {name} block per rank: {size} expected, {x.Count} given.", name);
    }

    private static void Expect(IReadOnlyList<MatrixView> x, int rank, Device device, int rows, int cols, string name, SummaVariant v)
    {
        var view = x[rank];
        if (view.Buffer is null || !ReferenceEquals(view.Device, device))
            throw new ArgumentException($"SUMMA {v}: block {name} of rank {rank} must live on {device.Name}.", name.ToLowerInvariant());
        if (view.Rows != rows || view.Cols != cols)
            throw new ArgumentException($"SUMMA {v}: block {name} of rank {rank} is {view.Rows}×{view.Cols}, but the EvenRanges of the global shape gives {rows}×{cols}.", name.ToLowerInvariant());
    }
}
