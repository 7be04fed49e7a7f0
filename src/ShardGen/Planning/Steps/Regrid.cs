using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Into or out of the q×q grid's 2D blocks (token block i × feature block j on device (i, j)), derived from the two
/// placements: an all-gather inside each grid column (grid column j's q column shards make up feature block j; its q
/// blocks make up all tokens of it), then, to the whole tensor, inside each grid row; each device keeps its piece of the
/// target. One kind for every pair (column shards → blocks, blocks → column shards, blocks → replicated); the
/// ForwardPass methods are named per pair, since two read blocks and C# cannot overload on the result.
/// </summary>
internal sealed class Regrid(Placement from, Placement to) : TransitionStep
{
    /// <summary>The catalog's instances: every pair between the grid and a 1D placement that a plan moves through.</summary>
    public static StepType[] Instances =>
    [
        new Regrid(Placement.ColumnShards, Placement.Grid2D),
        new Regrid(Placement.Grid2D, Placement.ColumnShards),
        new Regrid(Placement.Grid2D, Placement.Replicated),
    ];

    public override Placement Input { get; } = from;
    public override Placement Output { get; } = to;
    public override string Method => MethodOf(Output);
    public override bool IsCollective => true;

    /// <summary>True when the target is the whole tensor: a second all-gather, inside grid rows, follows the columns'.</summary>
    private bool ToWhole => Output == Placement.Replicated;

    private static string MethodOf(Placement target) =>
        target == Placement.Grid2D ? nameof(IStepMethods.ColumnShardsToBlocks)
        : target == Placement.ColumnShards ? nameof(IStepMethods.BlocksToColumnShards)
        : nameof(IStepMethods.BlocksToReplicated);

    // Between blocks and column shards each element moves to one place (a permutation): the reverse movement, the
    // reverse pair's forward method, is the adjoint. The gather into the whole tensor feeds a column-parallel launch,
    // whose dX is per-device partial sums: the all-gathers' conjugate reduce-scatters take them (no all-reduce first).
    public override StepBackward Backward { get; } = to == Placement.Replicated
        ? new(BackwardOp.ReduceScatter,
            "conjugate of the all-gathers: reduce-scatter of the per-device gradients inside grid rows onto feature blocks, then inside grid columns onto token blocks",
            nameof(IBackwardStepMethods.ReduceScatterBlocks), BackwardCall.Conjugate)
        { TakesPartialSums = true }
        : new(BackwardOp.Reverse,
            $"the reverse movement (a permutation's adjoint): the gradient's {Noun(to)} back onto {Noun(from)} by an all-gather inside each grid column",
            MethodOf(from), BackwardCall.Conjugate)
        { ConjugateOf = (typeof(Regrid), to, from) };

    /// <summary>
    /// Inside grid columns: q groups gathering n/q each, (q−1)·n floats in total; then inside grid rows q·(q−1)·n more:
    /// (P−1)·n to the whole tensor.
    /// </summary>
    public override long TotalBytes(StepSizes s) => StepSizes.Bytes((ToWhole ? s.Devices - 1 : s.Q - 1) * s.Elements);
    public override int Calls(CollectiveOp op, StepSizes s) => op == CollectiveOp.AllGather ? (ToWhole ? 2 : 1) * s.Q : 0;
    public override int LatencySteps(StepSizes s) => s.Devices == 1 ? 0 : (ToWhole ? 2 : 1) * (s.Q - 1);
    public override string BytesFormula => ToWhole ? "(P−1)/P" : "(q−1)/P";

    /// <summary>The backward's two reduce-scatters (to the whole tensor) move what the forward's two all-gathers move.</summary>
    public override long BackwardTotalBytes(StepSizes s) => ToWhole ? TotalBytes(s) : 0;
    public override int BackwardCalls(CollectiveOp op, StepSizes s) => ToWhole && op == CollectiveOp.ReduceScatter ? 2 * s.Q : 0;
    public override string? BackwardCollectives(StepContext c) => ToWhole ? $"The two reduce-scatters together, of [T, {c.FText}]: {c.Bytes("(P−1)/P")}." : null;

    public override IEnumerable<string> Comment(StepContext c)
    {
        var t = c.Text;
        string gather = ToWhole ? "all-gather inside grid columns, then inside grid rows"
            : Input == Placement.Grid2D ? "all-gather of the token blocks inside each grid column"
            : $"all-gather inside each grid column (its {(t.Fixed ? "" : "q ")}shards make up one feature block)";
        string keep = Output == Placement.Grid2D ? ", each device keeps its token block" : Output == Placement.ColumnShards ? ", each device keeps its columns" : "";
        yield return $"{Capitalized(Shape(Input, c))} → {Shape(Output, c)}: {gather}{keep}.";
        string need = Output == Placement.Grid2D ? $"works on {t.Grid} blocks" : Output == Placement.ColumnShards ? "needs column shards" : "needs the whole activation on every device";
        yield return $"{c.Bytes(BytesFormula, needsGrid: !ToWhole)}{(c.Consumer is null ? "" : $"; {c.ConsumerText} {need}")}.";
    }

    public override string? Summary(StepContext c) =>
        $"all-gathers in grid columns{(ToWhole ? " and rows" : "")}, {c.ProducerName}'s {Noun(Input)} to {Noun(Output)} [T, {c.FText}]: {c.Bytes(BytesFormula, needsGrid: !ToWhole)}.";

    /// <summary>A placement's piece on one device, in words and shape.</summary>
    private static string Shape(Placement p, StepContext c) =>
        p == Placement.Grid2D ? $"blocks [{c.Text.TokenBlock}, {c.Text.OverQ(c.F)}]"
        : p == Placement.ColumnShards ? $"column shards [T, {c.Text.OverP(c.F)}]"
        : $"[T, {c.FText}] on every device";

    private static string Noun(Placement p) => p == Placement.Grid2D ? "blocks" : p == Placement.ColumnShards ? "column shards" : "every device";

    private static string Capitalized(string s) => char.ToUpperInvariant(s[0]) + s.Substring(1);
}
