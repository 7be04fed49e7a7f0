using ShardGen.Planning;

namespace ShardGen.Runtime;

// The backwards of the transitions into and out of the q×q grid that no forward step already runs. Blocks ↔ column
// shards are permutations, each the other's adjoint (the forward methods); a slice's adjoint is the gather of its
// pieces. Only the gather of blocks into the whole tensor needs a method of its own: a column-parallel consumer's dX is
// per-device partial sums, and the adjoint of the duplication is their sum, cut into blocks.
public sealed partial class ForwardPass
{
    /// <summary>
    /// The backward of BlocksToReplicated: per-device partial sums [T, F] → device (i, j) holds block (i, j) of their
    /// sum. The forward's two all-gathers reversed: a reduce-scatter inside each grid row onto feature blocks, then one
    /// inside each grid column onto token blocks; (P−1)·T·F floats in total, as the forward.
    /// </summary>
    public ShardedTensor<Blocks2D> ReduceScatterBlocks(ShardedTensor<PartialSums> partial)
    {
        ExpectTraining(nameof(ReduceScatterBlocks));
        Expect(partial, Placement.Partial);
        var grid = Mesh.Grid;
        int f = partial.Features, q = grid.Q, bw = f / q;

        // Grid row i: member (i, j) ends with feature block j of the row's sum, every token.
        var rowSums = _scratch.Views(P);
        for (int rank = 0; rank < P; rank++) rowSums[rank] = Allocate(rank, Tokens, bw);
        for (int i = 0; i < q; i++)
        {
            var parts = _scratch.Rows(q);
            var results = _scratch.Views(q);
            for (int j = 0; j < q; j++)
            {
                int m = grid.RankOf(i, j);
                FillBlocks(parts[j], partial.ShardArray[m], byTokens: false, bw);
                results[j] = rowSums[m];
            }
            Mesh.Collectives.ReduceScatter(grid.RowGroups[i], parts, results);
        }

        // Grid column j: member (i, j) ends with token block i of the column's sum, which is block (i, j) of the whole sum.
        var y = NextAllocated(Placement.Grid2D, f, bw);
        for (int j = 0; j < q; j++)
        {
            var parts = _scratch.Rows(q);
            var results = _scratch.Views(q);
            for (int i = 0; i < q; i++)
            {
                int m = grid.RankOf(i, j);
                FillBlocks(parts[i], rowSums[m], byTokens: true, 0);
                results[i] = y.ShardArray[m];
            }
            Mesh.Collectives.ReduceScatter(grid.ColumnGroups[j], parts, results);
        }
        return new(y);
    }
}
