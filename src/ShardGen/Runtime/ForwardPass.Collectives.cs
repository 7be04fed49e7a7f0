using System;
using System.Collections.Generic;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The placement changes between layers: the collectives (and the free local slices). Argument lists come from
// the pass's scratch, so steady-state passes build them without allocating.
public sealed partial class ForwardPass
{
    /// <summary>Partial sums → the full sum on every device (ring all-reduce, in place).</summary>
    public ShardedTensor<Replicated> AllReduce(ShardedTensor<PartialSums> partial)
    {
        Expect(partial, Placement.Partial);
        Mesh.Collectives.AllReduce(Mesh.World, partial.Shards);
        var y = Next(Placement.Replicated, partial.Features);
        partial.ShardArray.CopyTo(y.ShardArray, 0);
        return new(y);
    }

    /// <summary>Partial sums → device r holds the sum of column shard r only (ring reduce-scatter).</summary>
    public ShardedTensor<ColumnShards> ReduceScatter(ShardedTensor<PartialSums> partial)
    {
        Expect(partial, Placement.Partial);
        int w = partial.Features / P;
        var parts = Blocks(partial.Tensor, byTokens: false, w);
        // Each result is written whole: a copy of the own part, then the others added.
        var result = NextAllocated(Placement.ColumnShards, partial.Features, w);
        Mesh.Collectives.ReduceScatter(Mesh.World, parts, result.Shards);
        return new(result);
    }

    /// <summary>Column shards → the whole tensor on every device (ring all-gather).</summary>
    public ShardedTensor<Replicated> AllGather(ShardedTensor<ColumnShards> shards)
    {
        Expect(shards, Placement.ColumnShards);
        int f = shards.Features, w = f / P;
        // The P column blocks of width F/P tile each target, so it is overwritten whole.
        var full = NextAllocated(Placement.Replicated, f, f);
        var targets = Blocks(full, byTokens: false, w);
        Mesh.Collectives.AllGather(Mesh.World, shards.Shards, targets);
        return new(full);
    }

    /// <summary>
    /// Column shards → 2D blocks. Grid column j holds shards j·q … j·q+q−1, which together are feature
    /// block j: an all-gather inside each grid column gives every member block j for all tokens, and each
    /// keeps its token block as a view.
    /// </summary>
    public ShardedTensor<Blocks2D> ColumnShardsToBlocks(ShardedTensor<ColumnShards> shards)
    {
        Expect(shards, Placement.ColumnShards);
        var grid = Mesh.Grid;
        int f = shards.Features, w = f / P, bw = f / grid.Q;
        var gathered = GatherInGridColumns(grid, bw, shards.Tensor, byTokens: false, w);
        var y = Next(Placement.Grid2D, f);
        for (int rank = 0; rank < P; rank++)
        {
            var (t0, tn) = TokenBlock(grid.GridRowOf(rank), grid.Q);
            y.ShardArray[rank] = gathered[rank].RowsOf(t0, tn);
        }
        return new(y);
    }

    /// <summary>
    /// 2D blocks → column shards: an all-gather of token blocks inside each grid column gives every member
    /// feature block j for all tokens; device (i, j) = rank j·q+i keeps its shard, sub-block i, as a view.
    /// </summary>
    public ShardedTensor<ColumnShards> BlocksToColumnShards(ShardedTensor<Blocks2D> blocks)
    {
        Expect(blocks, Placement.Grid2D);
        var grid = Mesh.Grid;
        int f = blocks.Features, w = f / P;
        var gathered = GatherInGridColumns(grid, f / grid.Q, blocks.Tensor, byTokens: true, 0);
        var y = Next(Placement.ColumnShards, f);
        for (int rank = 0; rank < P; rank++) y.ShardArray[rank] = gathered[rank].Columns(grid.GridRowOf(rank) * w, w);
        return new(y);
    }

    /// <summary>2D blocks → whole on every device: all-gather token blocks in grid columns, then feature blocks in grid rows.</summary>
    public ShardedTensor<Replicated> BlocksToReplicated(ShardedTensor<Blocks2D> blocks)
    {
        Expect(blocks, Placement.Grid2D);
        var grid = Mesh.Grid;
        int f = blocks.Features, q = grid.Q, bw = f / q;
        var columnBlocks = GatherInGridColumns(grid, bw, blocks.Tensor, byTokens: true, 0);
        // The q feature blocks of width F/q tile each target.
        var full = NextAllocated(Placement.Replicated, f, f);
        for (int i = 0; i < q; i++)
        {
            var pieces = _scratch.Views(q);
            var targets = _scratch.Rows(q);
            for (int j = 0; j < q; j++)
            {
                int m = grid.RankOf(i, j);
                pieces[j] = columnBlocks[m];
                FillBlocks(targets[j], full.ShardArray[m], byTokens: false, bw);
            }
            Mesh.Collectives.AllGather(grid.RowGroups[i], pieces, targets);
        }
        return new(full);
    }

    /// <summary>Replicated → column shards: each device keeps its columns as a view; nothing is sent.</summary>
    public ShardedTensor<ColumnShards> SliceColumns(ShardedTensor<Replicated> full)
    {
        Expect(full, Placement.Replicated);
        int w = full.Features / P;
        var y = Next(Placement.ColumnShards, full.Features);
        for (int rank = 0; rank < P; rank++) y.ShardArray[rank] = full.ShardArray[rank].Columns(rank * w, w);
        return new(y);
    }

    /// <summary>Replicated → 2D blocks: each device keeps its block as a view; nothing is sent.</summary>
    public ShardedTensor<Blocks2D> SliceBlocks(ShardedTensor<Replicated> full)
    {
        Expect(full, Placement.Replicated);
        var grid = Mesh.Grid;
        int bw = full.Features / grid.Q;
        var y = Next(Placement.Grid2D, full.Features);
        for (int rank = 0; rank < P; rank++)
        {
            var (t0, tn) = TokenBlock(grid.GridRowOf(rank), grid.Q);
            y.ShardArray[rank] = full.ShardArray[rank].Slice(t0, grid.GridColumnOf(rank) * bw, tn, bw);
        }
        return new(y);
    }

    /// <summary>
    /// Every member of grid column j ends with [tokens, bw], overwritten whole: member k's piece (its shard of
    /// <paramref name="source"/>) lands in token block k (<paramref name="byTokens"/>) or in columns [k·w, (k+1)·w).
    /// </summary>
    private MatrixView[] GatherInGridColumns(DeviceGrid grid, int bw, ShardedTensor source, bool byTokens, int w)
    {
        int q = grid.Q;
        var gathered = _scratch.Views(P);
        for (int rank = 0; rank < P; rank++) gathered[rank] = Allocate(rank, Tokens, bw);
        for (int j = 0; j < q; j++)
        {
            var pieces = _scratch.Views(q);
            var targets = _scratch.Rows(q);
            for (int i = 0; i < q; i++)
            {
                int m = grid.RankOf(i, j);
                pieces[i] = source.ShardArray[m];
                FillBlocks(targets[i], gathered[m], byTokens, w);
            }
            Mesh.Collectives.AllGather(grid.ColumnGroups[j], pieces, targets);
        }
        return gathered;
    }

    /// <summary>
    /// rows[j][i] = block i of x's shard j, over all P devices: its token shard i (<paramref name="byTokens"/>)
    /// or its columns [i·w, (i+1)·w). The argument of a ring collective over the whole mesh.
    /// </summary>
    private MatrixView[][] Blocks(ShardedTensor x, bool byTokens, int w)
    {
        var rows = _scratch.Rows(P);
        for (int j = 0; j < P; j++) FillBlocks(rows[j], x.ShardArray[j], byTokens, w);
        return rows;
    }

    /// <summary>
    /// Cuts <paramref name="source"/> into row.Length blocks: token block k of that many (<paramref name="byTokens"/>)
    /// or columns [k·w, (k+1)·w). Views only; nothing is copied.
    /// </summary>
    private void FillBlocks(MatrixView[] row, MatrixView source, bool byTokens, int w)
    {
        int n = row.Length;
        for (int k = 0; k < n; k++)
        {
            if (byTokens)
            {
                var (t0, tn) = TokenBlock(k, n);
                row[k] = source.RowsOf(t0, tn);
            }
            else row[k] = source.Columns(k * w, w);
        }
    }

    private static void Expect<TPlacement>(ShardedTensor<TPlacement> x, Placement placement) => Expect(x.Tensor, placement);

    private static void Expect(ShardedTensor x, Placement placement)
    {
        if (x.Placement != placement)
            throw new InvalidOperationException($"Expected a {placement} tensor, got {x}.");
    }
}
