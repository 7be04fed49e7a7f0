using System;
using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Algorithms;

/// <summary>
/// SUMMA on a q×q <see cref="DeviceGrid"/>: every matrix is cut into q×q blocks (EvenRanges on each
/// dimension, so sizes need not divide by q and blocks may be empty), block (r, c) living on
/// <c>grid.RankOf(r, c)</c>. Lists are indexed by rank. Runs with the backend's Device and
/// CollectiveEngine only, so it works on any backend.
/// </summary>
public static class Summa
{
    public static void Multiply(DeviceGrid grid, SummaVariant variant, IReadOnlyList<MatrixView> a,
        IReadOnlyList<MatrixView> b, IReadOnlyList<MatrixView> c)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var shape = SummaShape.Infer(grid, variant, a, b, c);
        using var workspace = new SummaWorkspace(grid);
        Run(grid, variant, shape, a, b, c, workspace);
    }

    /// <summary>
    /// <see cref="Multiply"/> on a caller's workspace, which may borrow its panels from a pool: a forward pass
    /// multiplies without allocating or waiting for the devices.
    /// </summary>
    internal static void MultiplyWith(DeviceGrid grid, SummaVariant variant, IReadOnlyList<MatrixView> a,
        IReadOnlyList<MatrixView> b, IReadOnlyList<MatrixView> c, SummaWorkspace workspace)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var shape = SummaShape.Infer(grid, variant, a, b, c);
        workspace.Begin();
        Run(grid, variant, shape, a, b, c, workspace);
    }

    private static void Run(DeviceGrid grid, SummaVariant variant, SummaShape shape, IReadOnlyList<MatrixView> a,
        IReadOnlyList<MatrixView> b, IReadOnlyList<MatrixView> c, SummaWorkspace workspace)
    {
        switch (variant)
        {
            case SummaVariant.AB: MultiplyAB(grid, shape, a, b, c, workspace); break;
            case SummaVariant.ABt: MultiplyABt(grid, shape, a, b, c, workspace); break;
            case SummaVariant.AtB: MultiplyAtB(grid, shape, a, b, c, workspace); break;
            default: throw new ArgumentOutOfRangeException(nameof(variant), variant, "Unknown SUMMA variant.");
        }
    }

    /// <summary>
    /// Exact bytes <see cref="Multiply"/> sends: each broadcast or reduce of a panel over a group of q sends
    /// (q−1)·|panel| floats, and over all steps the panels of one matrix add up to the whole matrix.
    /// </summary>
    public static long PredictTotalBytes(SummaVariant v, int q, int m, int n, int k) => v switch
    {
        // A·B and A·Bᵀ are the planner's formulas: one source of truth for plans and measurements.
        SummaVariant.AB => Planning.PlanCost.SummaTotalBytes(transposedB: false, q, m, n, k),
        SummaVariant.ABt => Planning.PlanCost.SummaTotalBytes(transposedB: true, q, m, n, k),
        // Aᵀ·B broadcasts A panels along grid rows and reduces C panels along grid columns.
        SummaVariant.AtB => (q - 1) * ((long)m * k + (long)m * n) * sizeof(float),
        _ => throw new ArgumentOutOfRangeException(nameof(v), v, "Unknown SUMMA variant."),
    };

    // C(i,j) = Σ_k A(i,k)·B(k,j): step k broadcasts A(i,k) along grid row i and B(k,j) along grid column j.
    private static void MultiplyAB(DeviceGrid grid, SummaShape s, IReadOnlyList<MatrixView> a,
        IReadOnlyList<MatrixView> b, IReadOnlyList<MatrixView> c, SummaWorkspace ws)
    {
        int q = grid.Q;
        var collectives = grid.Mesh.Collectives;
        for (int k = 0; k < q; k++)
        {
            int kk = s.K(k);
            var aPanels = ws.PanelsA;
            var bPanels = ws.PanelsB;
            for (int i = 0; i < q; i++)
            {
                var members = ws.Members;
                for (int j = 0; j < q; j++)
                {
                    int rank = grid.RankOf(i, j);
                    members[j] = aPanels[rank] = j == k ? a[rank] : ws.PanelA(rank, s.M(i), kk);
                }
                collectives.Broadcast(grid.RowGroups[i], k, members);
            }
            for (int j = 0; j < q; j++)
            {
                var members = ws.Members;
                for (int i = 0; i < q; i++)
                {
                    int rank = grid.RankOf(i, j);
                    members[i] = bPanels[rank] = i == k ? b[rank] : ws.PanelB(rank, kk, s.N(j));
                }
                collectives.Broadcast(grid.ColumnGroups[j], k, members);
            }
            for (int rank = 0; rank < grid.Mesh.Size; rank++)
                grid.Mesh.Devices[rank].Gemm(aPanels[rank], false, bPanels[rank], false, c[rank], accumulate: k > 0);
        }
    }

    // C(i,j) = Σ_k A(i,k)·B(j,k)ᵀ: for each j, B(j,k) goes down grid column k, every (i,k) forms its partial
    // product, and grid row i reduces the partials into C(i,j) on member j.
    private static void MultiplyABt(DeviceGrid grid, SummaShape s, IReadOnlyList<MatrixView> a,
        IReadOnlyList<MatrixView> b, IReadOnlyList<MatrixView> c, SummaWorkspace ws)
    {
        int q = grid.Q;
        var collectives = grid.Mesh.Collectives;
        for (int j = 0; j < q; j++)
        {
            var bPanels = ws.PanelsB;
            for (int k = 0; k < q; k++)
            {
                var members = ws.Members;
                for (int i = 0; i < q; i++)
                {
                    int rank = grid.RankOf(i, k);
                    members[i] = bPanels[rank] = i == j ? b[rank] : ws.PanelB(rank, s.N(j), s.K(k));
                }
                collectives.Broadcast(grid.ColumnGroups[k], j, members);
            }
            for (int i = 0; i < q; i++)
            {
                var members = ws.Members;
                for (int k = 0; k < q; k++)
                {
                    int rank = grid.RankOf(i, k);
                    // The root computes its partial straight into C(i,j), the reduce target.
                    var partial = k == j ? c[rank] : ws.Partial(rank, s.M(i), s.N(j));
                    grid.Mesh.Devices[rank].Gemm(a[rank], false, bPanels[rank], true, partial, accumulate: false);
                    members[k] = partial;
                }
                collectives.Reduce(grid.RowGroups[i], j, members);
            }
        }
    }

    // C(i,j) = Σ_k A(k,i)ᵀ·B(k,j): for each i, A(k,i) goes along grid row k, every (k,j) forms its partial
    // product, and grid column j reduces the partials into C(i,j) on member i.
    private static void MultiplyAtB(DeviceGrid grid, SummaShape s, IReadOnlyList<MatrixView> a,
        IReadOnlyList<MatrixView> b, IReadOnlyList<MatrixView> c, SummaWorkspace ws)
    {
        int q = grid.Q;
        var collectives = grid.Mesh.Collectives;
        for (int i = 0; i < q; i++)
        {
            var aPanels = ws.PanelsA;
            for (int k = 0; k < q; k++)
            {
                var members = ws.Members;
                for (int j = 0; j < q; j++)
                {
                    int rank = grid.RankOf(k, j);
                    members[j] = aPanels[rank] = j == i ? a[rank] : ws.PanelA(rank, s.K(k), s.M(i));
                }
                collectives.Broadcast(grid.RowGroups[k], i, members);
            }
            for (int j = 0; j < q; j++)
            {
                var members = ws.Members;
                for (int k = 0; k < q; k++)
                {
                    int rank = grid.RankOf(k, j);
                    var partial = k == i ? c[rank] : ws.Partial(rank, s.M(i), s.N(j));
                    grid.Mesh.Devices[rank].Gemm(aPanels[rank], true, b[rank], false, partial, accumulate: false);
                    members[k] = partial;
                }
                collectives.Reduce(grid.ColumnGroups[j], i, members);
            }
        }
    }
}
