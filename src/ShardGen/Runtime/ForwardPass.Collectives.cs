using System.Collections.Generic;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The layout changes between layers: the collectives (and the free local slices).
public sealed partial class ForwardPass
{
    /// <summary>Partial sums → the full sum on every device (ring all-reduce, in place).</summary>
    public ShardedTensor AllReduce(ShardedTensor partial)
    {
        Expect(partial, TensorLayout.PartialSum);
        Mesh.Collectives.AllReduce(Mesh.World, partial.Shards);
        return new ShardedTensor(TensorLayout.Replicated, Tokens, partial.Features, partial.Shards);
    }

    /// <summary>Partial sums → device r holds the sum of column shard r only (ring reduce-scatter).</summary>
    public ShardedTensor ReduceScatter(ShardedTensor partial)
    {
        Expect(partial, TensorLayout.PartialSum);
        int w = partial.Features / P;
        var parts = partial.Shards.Select(s => (IReadOnlyList<MatrixView>)Enumerable.Range(0, P).Select(i => s.Columns(i * w, w)).ToArray()).ToArray();
        var result = Build(TensorLayout.ColumnSharded, partial.Features, rank => Allocate(rank, Tokens, w));
        Mesh.Collectives.ReduceScatter(Mesh.World, parts, result.Shards);
        return result;
    }

    /// <summary>Column shards → the whole tensor on every device (ring all-gather).</summary>
    public ShardedTensor AllGather(ShardedTensor shards)
    {
        Expect(shards, TensorLayout.ColumnSharded);
        int f = shards.Features, w = f / P;
        var full = Build(TensorLayout.Replicated, f, rank => Allocate(rank, Tokens, f));
        var targets = full.Shards.Select(t => (IReadOnlyList<MatrixView>)Enumerable.Range(0, P).Select(i => t.Columns(i * w, w)).ToArray()).ToArray();
        Mesh.Collectives.AllGather(Mesh.World, shards.Shards, targets);
        return full;
    }

    /// <summary>
    /// Column shards → 2D blocks. Grid column j holds shards j·q … j·q+q−1, which together are feature
    /// block j: an all-gather inside each grid column gives every member block j for all tokens, and each
    /// keeps its token block as a view.
    /// </summary>
    public ShardedTensor ColumnShardsToBlocks(ShardedTensor shards)
    {
        Expect(shards, TensorLayout.ColumnSharded);
        var grid = Mesh.Grid;
        int f = shards.Features, w = f / P, bw = f / grid.Q;
        var gathered = GatherInGridColumns(grid, bw, rank => shards.Shards[rank], (target, k) => target.Columns(k * w, w));
        return Build(TensorLayout.Blocks2D, f, rank =>
        {
            var (t0, tn) = TokenBlock(grid.GridRowOf(rank), grid.Q);
            return gathered[rank].RowsOf(t0, tn);
        });
    }

    /// <summary>
    /// 2D blocks → column shards: an all-gather of token blocks inside each grid column gives every member
    /// feature block j for all tokens; device (i, j) = rank j·q+i keeps its shard, sub-block i, as a view.
    /// </summary>
    public ShardedTensor BlocksToColumnShards(ShardedTensor blocks)
    {
        Expect(blocks, TensorLayout.Blocks2D);
        var grid = Mesh.Grid;
        int f = blocks.Features, w = f / P;
        var gathered = GatherTokenBlocks(grid, blocks);
        return Build(TensorLayout.ColumnSharded, f, rank => gathered[rank].Columns(grid.GridRowOf(rank) * w, w));
    }

    /// <summary>2D blocks → whole on every device: all-gather token blocks in grid columns, then feature blocks in grid rows.</summary>
    public ShardedTensor BlocksToReplicated(ShardedTensor blocks)
    {
        Expect(blocks, TensorLayout.Blocks2D);
        var grid = Mesh.Grid;
        int f = blocks.Features, bw = f / grid.Q;
        var columnBlocks = GatherTokenBlocks(grid, blocks);
        var full = Build(TensorLayout.Replicated, f, rank => Allocate(rank, Tokens, f));
        for (int i = 0; i < grid.Q; i++)
        {
            var members = Enumerable.Range(0, grid.Q).Select(k => grid.RankOf(i, k)).ToArray();
            var targets = members.Select(m => (IReadOnlyList<MatrixView>)Enumerable.Range(0, grid.Q)
                .Select(k => full.Shards[m].Columns(k * bw, bw)).ToArray()).ToArray();
            Mesh.Collectives.AllGather(grid.RowGroups[i], members.Select(m => columnBlocks[m]).ToArray(), targets);
        }
        return full;
    }

    /// <summary>Replicated → column shards: each device keeps its columns as a view; nothing is sent.</summary>
    public ShardedTensor SliceColumns(ShardedTensor full)
    {
        Expect(full, TensorLayout.Replicated);
        int w = full.Features / P;
        return Build(TensorLayout.ColumnSharded, full.Features, rank => full.Shards[rank].Columns(rank * w, w));
    }

    /// <summary>Replicated → 2D blocks: each device keeps its block as a view; nothing is sent.</summary>
    public ShardedTensor SliceBlocks(ShardedTensor full)
    {
        Expect(full, TensorLayout.Replicated);
        var grid = Mesh.Grid;
        int bw = full.Features / grid.Q;
        return Build(TensorLayout.Blocks2D, full.Features, rank =>
        {
            var (t0, tn) = TokenBlock(grid.GridRowOf(rank), grid.Q);
            return full.Shards[rank].Slice(t0, grid.GridColumnOf(rank) * bw, tn, bw);
        });
    }

    // Every member of grid column j ends with [tokens, bw]: member k's piece lands at placeOf(target, k).
    private MatrixView[] GatherInGridColumns(DeviceGrid grid, int bw, System.Func<int, MatrixView> pieceOf,
        System.Func<MatrixView, int, MatrixView> placeOf)
    {
        var gathered = new MatrixView[P];
        for (int rank = 0; rank < P; rank++) gathered[rank] = Allocate(rank, Tokens, bw);
        for (int j = 0; j < grid.Q; j++)
        {
            var members = Enumerable.Range(0, grid.Q).Select(k => grid.RankOf(k, j)).ToArray();
            var targets = members.Select(m => (IReadOnlyList<MatrixView>)Enumerable.Range(0, grid.Q)
                .Select(k => placeOf(gathered[m], k)).ToArray()).ToArray();
            Mesh.Collectives.AllGather(grid.ColumnGroups[j], members.Select(pieceOf).ToArray(), targets);
        }
        return gathered;
    }

    private MatrixView[] GatherTokenBlocks(DeviceGrid grid, ShardedTensor blocks) =>
        GatherInGridColumns(grid, blocks.Features / grid.Q, rank => blocks.Shards[rank], (target, k) =>
        {
            var (t0, tn) = TokenBlock(k, grid.Q);
            return target.RowsOf(t0, tn);
        });

    private static void Expect(ShardedTensor x, TensorLayout layout)
    {
        if (x.Layout != layout)
            throw new System.InvalidOperationException($"Expected a {layout} tensor, got {x}.");
    }
}
