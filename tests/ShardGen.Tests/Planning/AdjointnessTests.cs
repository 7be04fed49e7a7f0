using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Algorithms;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Planning.Steps;
using ShardGen.Tests.Backend;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Planning;

/// <summary>
/// The step catalog's backward of each transition is its adjoint: ⟨step(x), dy⟩ = ⟨x, backward(dy)⟩ on random data,
/// run with the CPU backend's collectives on real meshes. The forward runs from the step's placements (partial → replicated
/// is an all-reduce, partial → shards a reduce-scatter onto the axis, shards → replicated an all-gather along it,
/// replicated → shards a slice); the backward runs the catalog's <see cref="StepBackward.Op"/>, so a wrong conjugate
/// in the catalog fails here. Inner products accumulate in double over each device's own pieces; a replicated value
/// whose gradient is replicated too counts once.
/// </summary>
public sealed class AdjointnessTests
{
    private const int Tokens = 6, Features = 8;

    public static TheoryData<Type, string, string, int> Transitions()
    {
        var data = new TheoryData<Type, string, string, int>();
        foreach (var kind in new[] { typeof(AllReduce), typeof(ReduceScatter), typeof(AllGather), typeof(Slice) })
        foreach (var type in StepCatalog.Variants(kind)) // one per axis: features and tokens; the slice onto 2D blocks is not run here
        foreach (int p in new[] { 2, 4 })
        {
            if (type.Output.Kind != PlacementKind.Grid2D) data.Add(kind, type.Input.ToString(), type.Output.ToString(), p);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Transitions))]
    public void BackwardOfEachTransitionIsItsAdjoint(Type kind, string input, string output, int p)
    {
        var type = StepCatalog.Find(kind, PlacementNames.Named(input), PlacementNames.Named(output));
        using var mesh = CpuDeviceMesh.Create(p);
        var rng = new Random(p * 100 + kind.Name.Length);

        var x = RandomPieces(rng, type.Input, p, sameOnEveryDevice: type.Input.Kind == PlacementKind.Replicated);
        var y = Forward(mesh, type.Input, type.Output, x);
        // A reduction's replicated output feeds replicated work (bias, residual, norms), so its gradient is the same on every
        // device (Megatron's g); a gather's output feeds a tensor-parallel launch, so each device holds its own contribution.
        bool outputGradientReplicated = type.Input.Kind == PlacementKind.Partial;
        var dy = RandomPieces(rng, type.Output, p, sameOnEveryDevice: outputGradientReplicated);
        var dx = Backward(mesh, type, dy);

        double left = Inner(y, dy, countOnce: type.Output.Kind == PlacementKind.Replicated && outputGradientReplicated);
        double right = Inner(x, dx, countOnce: type.Input.Kind == PlacementKind.Replicated);
        AssertAdjoint(left, right, $"{kind.Name} from {input} to {output} on {p} devices, backward {type.Backward.Op}");
    }

    /// <summary>
    /// Megatron's f, entering a column-parallel layer: the replicated input is used by every device (identity forward);
    /// the catalog's backward all-reduces the per-device gradients.
    /// </summary>
    [Theory]
    [InlineData(typeof(ColumnParallel), 2)]
    [InlineData(typeof(ColumnParallel), 4)]
    [InlineData(typeof(QkvProjection), 4)]
    [InlineData(typeof(MlpUp), 4)]
    public void AllReduceIsTheAdjointOfTheIdentityIntoAColumnParallelLaunch(Type kind, int p)
    {
        var type = StepCatalog.Variants(kind).Single();
        Assert.Equal(PlacementKind.Replicated, type.Input.Kind);
        using var mesh = CpuDeviceMesh.Create(p);
        var rng = new Random(p * 10 + kind.Name.Length);
        var x = RandomPieces(rng, Placement.Replicated, p, sameOnEveryDevice: true);
        var copies = x.Select(piece => piece.ToArray()).ToArray(); // identity: each device uses its copy on its own
        var dy = RandomPieces(rng, Placement.Replicated, p, sameOnEveryDevice: false);
        var dx = Run(mesh, type.Backward.Op, Placement.Partial, Placement.Replicated, dy);
        AssertAdjoint(Inner(copies, dy, countOnce: false), Inner(x, dx, countOnce: true), $"{kind.Name} on {p} devices");
    }

    /// <summary>A broadcast from the root and a reduce onto it (SUMMA's panel moves) are each other's adjoint.</summary>
    [Theory]
    [InlineData(2, 0)]
    [InlineData(4, 1)]
    [InlineData(4, 3)]
    public void ReduceIsTheAdjointOfBroadcast(int p, int root)
    {
        using var mesh = CpuDeviceMesh.Create(p);
        var rng = new Random(p * 7 + root);
        var x = RoundToFloat(Backend.Reference.Random(rng, Tokens * Features));
        var views = mesh.Devices.Select(d => Upload(d, x, Tokens, Features)).ToArray();
        mesh.Collectives.Broadcast(mesh.World, root, views);
        var y = Downloaded(mesh, views);

        var dy = RandomPieces(rng, Placement.Partial, p, sameOnEveryDevice: false);
        var dyViews = mesh.Devices.Select((d, r) => Upload(d, dy[r], Tokens, Features)).ToArray();
        mesh.Collectives.Reduce(mesh.World, root, dyViews);
        var dx = Downloaded(mesh, dyViews)[root];

        AssertAdjoint(Inner(y, dy, countOnce: false), Dot(x, dx), $"broadcast from {root} on {p} devices");
    }

    /// <summary>SUMMA A·B on a 2×2 grid: its adjoint in A is A·Bᵀ (dA = dC·Bᵀ), in B it is Aᵀ·B (dB = Aᵀ·dC), as Summa2D's backward says.</summary>
    [Theory]
    [InlineData(6, 8, 4)]
    [InlineData(5, 7, 3)]
    public void SummaTransposedProductsAreTheAdjointsOfSumma(int m, int k, int n)
    {
        Assert.Equal(BackwardOp.TransposedProducts, StepCatalog.Get<Summa2D>().Backward.Op);
        using var mesh = CpuDeviceMesh.Create(4);
        var grid = mesh.Grid;
        var rng = new Random(m * 100 + k * 10 + n);
        var a = Blocks(rng, grid, m, k);
        var b = Blocks(rng, grid, k, n);
        var dc = Blocks(rng, grid, m, n);

        var c = Multiply(grid, SummaVariant.AB, a, b, m, n);
        var da = Multiply(grid, SummaVariant.ABt, dc, b, m, k);
        var db = Multiply(grid, SummaVariant.AtB, a, dc, k, n);

        double forward = Inner(Downloaded(mesh, c), Downloaded(mesh, dc), countOnce: false);
        AssertAdjoint(forward, Inner(Downloaded(mesh, a), Downloaded(mesh, da), countOnce: false), $"A·B vs A·Bᵀ, {m}×{k}×{n}");
        AssertAdjoint(forward, Inner(Downloaded(mesh, b), Downloaded(mesh, db), countOnce: false), $"A·B vs Aᵀ·B, {m}×{k}×{n}");
    }

    /// <summary>
    /// The slice onto 2D blocks (SUMMA's input): device (i, j) keeps token block i × feature block j of a replicated value.
    /// Its catalog backward is an all-gather of the blocks into the whole gradient on every device (one replicated value).
    /// </summary>
    [Theory]
    [InlineData(4)]
    [InlineData(9)]
    public void AllGatherOfBlocksIsTheAdjointOfTheSliceOntoBlocks(int p)
    {
        var type = StepCatalog.Get<Slice>(Placement.Replicated, Placement.Grid2D);
        Assert.Equal(BackwardOp.AllGather, type.Backward.Op);
        using var mesh = CpuDeviceMesh.Create(p);
        var grid = mesh.Grid;
        int q = grid.Q, tokens = 3 * q, features = 2 * q, bt = tokens / q, bf = features / q;
        var rng = new Random(31 * p);
        var x = RoundToFloat(Backend.Reference.Random(rng, tokens * features));
        var dy = Enumerable.Range(0, p).Select(_ => RoundToFloat(Backend.Reference.Random(rng, bt * bf))).ToArray();

        // Forward: each device slices its block out of its own copy of x.
        var xs = mesh.Devices.Select(d => Upload(d, x, tokens, features)).ToArray();
        var y = Downloaded(mesh, xs.Select((v, r) => v.RowsOf(grid.GridRowOf(r) * bt, bt).Columns(grid.GridColumnOf(r) * bf, bf)).ToArray());

        // Backward (the catalog's all-gather): every device assembles the whole gradient from the P blocks.
        var blocks = mesh.Devices.Select((d, r) => Upload(d, dy[r], bt, bf)).ToArray();
        var full = mesh.Devices.Select(d => Alloc(d, tokens, features)).ToArray();
        var targets = full.Select(f => (IReadOnlyList<MatrixView>)Enumerable.Range(0, p)
            .Select(r => f.RowsOf(grid.GridRowOf(r) * bt, bt).Columns(grid.GridColumnOf(r) * bf, bf)).ToArray()).ToArray();
        mesh.Collectives.AllGather(mesh.World, blocks, targets);
        var dx = Downloaded(mesh, full);

        Assert.All(dx, piece => Assert.Equal(dx[0], piece)); // one replicated gradient
        AssertAdjoint(Inner(y, dy, countOnce: false), Dot(x, dx[0]), $"slice onto {q}×{q} blocks vs block all-gather");
    }

    // ---- Forward from the placements, backward from the catalog ----------------------------------------------

    private static double[][] Forward(CpuDeviceMesh mesh, Placement from, Placement to, double[][] x)
    {
        var op = (from.Kind, to.Kind) switch
        {
            (PlacementKind.Partial, PlacementKind.Replicated) => BackwardOp.AllReduce,
            (PlacementKind.Partial, PlacementKind.Shard) => BackwardOp.ReduceScatter,
            (PlacementKind.Shard, PlacementKind.Replicated) => BackwardOp.AllGather,
            (PlacementKind.Replicated, PlacementKind.Shard) => BackwardOp.Slice,
            _ => throw new ArgumentException($"no forward for {from} → {to} in this test"),
        };
        return Run(mesh, op, from, to, x);
    }

    /// <summary>The catalog's backward of <paramref name="type"/>: the gradient of its output placement → its input's.</summary>
    private static double[][] Backward(CpuDeviceMesh mesh, StepType type, double[][] dy) =>
        Run(mesh, type.Backward.Op, Gradient(type.Output), Gradient(type.Input), dy);

    /// <summary>Where a placement's gradient lives: a partial sum's gradient is whole on every device.</summary>
    private static Placement Gradient(Placement p) => p.Kind == PlacementKind.Partial ? Placement.Replicated : p;

    /// <summary>
    /// Runs <paramref name="op"/> on pieces placed as <paramref name="from"/>, giving pieces placed as <paramref name="to"/>.
    /// The axis is the sharded side's.
    /// </summary>
    private static double[][] Run(CpuDeviceMesh mesh, BackwardOp op, Placement from, Placement to, double[][] x)
    {
        int p = mesh.Size;
        var axis = from.Kind == PlacementKind.Shard ? from.Axis : to.Axis;
        var (rows, cols) = Shape(from, p);
        var views = mesh.Devices.Select((d, r) => Upload(d, x[r], rows, cols)).ToArray();
        switch (op)
        {
            case BackwardOp.Identity:
                return x.Select(piece => piece.ToArray()).ToArray();
            case BackwardOp.AllReduce:
                mesh.Collectives.AllReduce(mesh.World, views);
                return Downloaded(mesh, views);
            case BackwardOp.ReduceScatter:
            {
                var (sr, sc) = Shape(Placement.Shard(axis), p);
                var results = mesh.Devices.Select(d => Alloc(d, sr, sc)).ToArray();
                var parts = views.Select(v => Pieces(v, axis, p)).ToArray();
                mesh.Collectives.ReduceScatter(mesh.World, parts, results);
                return Downloaded(mesh, results);
            }
            case BackwardOp.AllGather:
            {
                var full = mesh.Devices.Select(d => Alloc(d, Tokens, Features)).ToArray();
                mesh.Collectives.AllGather(mesh.World, views, full.Select(f => Pieces(f, axis, p)).ToArray());
                return Downloaded(mesh, full);
            }
            case BackwardOp.Slice:
                return Downloaded(mesh, views.Select((v, r) => Pieces(v, axis, p)[r]).ToArray());
            default:
                throw new ArgumentException($"no runner for {op} in this test");
        }
    }

    private static IReadOnlyList<MatrixView> Pieces(MatrixView whole, ShardAxis axis, int p)
    {
        int w = axis == ShardAxis.Tokens ? Tokens / p : Features / p;
        return Enumerable.Range(0, p)
            .Select(i => axis == ShardAxis.Tokens ? whole.RowsOf(i * w, w) : whole.Columns(i * w, w))
            .ToArray();
    }

    private static (int Rows, int Cols) Shape(Placement placement, int p) => placement.Kind != PlacementKind.Shard
        ? (Tokens, Features)
        : placement.Axis == ShardAxis.Tokens ? (Tokens / p, Features) : (Tokens, Features / p);

    // ---- Data and inner products ------------------------------------------------------------------------------

    private static double[][] RandomPieces(Random rng, Placement placement, int p, bool sameOnEveryDevice)
    {
        var (rows, cols) = Shape(placement, p);
        var first = RoundToFloat(Backend.Reference.Random(rng, rows * cols));
        return Enumerable.Range(0, p)
            .Select(r => r == 0 || sameOnEveryDevice ? first.ToArray() : RoundToFloat(Backend.Reference.Random(rng, rows * cols)))
            .ToArray();
    }

    private static double[][] Downloaded(CpuDeviceMesh mesh, IReadOnlyList<MatrixView> views)
    {
        mesh.Synchronize();
        return views.Select(v => Array.ConvertAll(Download(v), e => (double)e)).ToArray();
    }

    /// <summary>Σ over devices of ⟨u_r, v_r⟩, or device 0's alone when the value is one replicated variable.</summary>
    private static double Inner(double[][] u, double[][] v, bool countOnce)
    {
        Assert.Equal(u.Length, v.Length);
        return countOnce ? Dot(u[0], v[0]) : u.Zip(v, Dot).Sum();
    }

    private static double Dot(double[] a, double[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void AssertAdjoint(double left, double right, string what)
    {
        double scale = Math.Max(Math.Abs(left), Math.Abs(right));
        Assert.True(scale > 1e-3, $"{what}: inner products too small to compare ({left}, {right})");
        Assert.True(Math.Abs(left - right) <= 1e-5 * scale, $"{what}: ⟨step(x), dy⟩ = {left:R} but ⟨x, backward(dy)⟩ = {right:R}");
    }

    // ---- SUMMA blocks ----------------------------------------------------------------------------------------

    private static MatrixView[] Blocks(Random rng, DeviceGrid grid, int rows, int cols) =>
        Enumerable.Range(0, grid.Mesh.Size).Select(rank =>
        {
            int br = EvenRanges.Length(rows, grid.Q, grid.GridRowOf(rank)), bc = EvenRanges.Length(cols, grid.Q, grid.GridColumnOf(rank));
            return Upload(grid.Mesh.Devices[rank], RoundToFloat(Backend.Reference.Random(rng, br * bc)), br, bc);
        }).ToArray();

    private static MatrixView[] Multiply(DeviceGrid grid, SummaVariant variant, MatrixView[] a, MatrixView[] b, int rows, int cols)
    {
        var c = Enumerable.Range(0, grid.Mesh.Size).Select(rank => Alloc(grid.Mesh.Devices[rank],
            EvenRanges.Length(rows, grid.Q, grid.GridRowOf(rank)), EvenRanges.Length(cols, grid.Q, grid.GridColumnOf(rank)))).ToArray();
        Summa.Multiply(grid, variant, a, b, c);
        return c;
    }
}
