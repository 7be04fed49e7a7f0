using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Replicated → <see cref="Target"/> (shards along an axis, or the grid's 2D blocks): each device keeps its own piece
/// as a view; nothing is sent. One step kind for every target: the catalog holds one instance per target, and a plan
/// step's output placement picks it. The ForwardPass method is named per target, since all read the replicated tensor and
/// C# cannot overload on the result.
/// </summary>
internal sealed class Slice(Placement target) : TransitionStep
{
    /// <summary>The catalog's instances: one per target.</summary>
    public static StepType[] Instances => [new Slice(Placement.ColumnShards), new Slice(Placement.Grid2D), new Slice(Placement.TokenShards)];

    /// <summary>The placement each device's piece has: column shards, token shards or 2D blocks.</summary>
    public Placement Target { get; } = target;

    public override Placement Input => Placement.Replicated;
    public override Placement Output => Target;

    public override string Method => Target.Kind == PlacementKind.Grid2D
        ? nameof(IStepMethods.SliceBlocks)
        : Target.Axis == ShardAxis.Tokens
            ? nameof(IStepMethods.SliceTokens)
            : nameof(IStepMethods.SliceColumns);

    // The gradient of the replicated input is whole on every device: the gather of the pieces' gradients.
    public override StepBackward Backward { get; } = target.Kind == PlacementKind.Grid2D
        ? new(BackwardOp.AllGather, "conjugate of the slice: all-gather of the gradient's blocks, in grid columns then rows",
            nameof(IStepMethods.BlocksToReplicated), BackwardCall.Conjugate)
        { ConjugateOf = (typeof(Regrid), Placement.Grid2D, Placement.Replicated) }
        : new(BackwardOp.AllGather, target.Axis == ShardAxis.Tokens
            ? "conjugate of the slice: all-gather of the gradient's token blocks"
            : "conjugate of the slice: all-gather of the gradient's column shards", nameof(IStepMethods.AllGather), BackwardCall.Conjugate)
        { ConjugateOf = (typeof(AllGather), target, Placement.Replicated) };

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return Target.Kind == PlacementKind.Grid2D
            ? $"Replicated [T, {c.FText}] → blocks [{c.Text.TokenBlock}, {c.Text.OverQ(c.F)}]: each device keeps its own block; nothing is sent."
            : Target.Axis == ShardAxis.Tokens
                ? $"Replicated [T, {c.FText}] → token blocks [{c.Text.TokenShard}, {c.FText}]: each device keeps its own tokens (sequence parallel); nothing is sent."
                : $"Replicated [T, {c.FText}] → column shards [T, {c.Text.OverP(c.F)}]: each device keeps its own columns; nothing is sent.";
    }
}
