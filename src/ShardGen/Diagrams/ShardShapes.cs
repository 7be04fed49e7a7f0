using System.Globalization;
using ShardGen.Planning;

namespace ShardGen.Diagrams;

/// <summary>
/// The activation [tokens × features] each device holds after a plan step, read from the step's output placement
/// alone, so the drawing needs no per-kind knowledge. The full width of a step's output is what the next step
/// reads (its <see cref="PlanStep.Features"/>); the last step (the download) keeps its own width.
/// </summary>
internal static class ShardShapes
{
    public static (int Rows, int Cols) After(ModelPlan plan, int step, int rank)
    {
        var s = plan.Steps[step];
        int t = plan.Tokens, p = plan.Devices, q = plan.GridSide;
        int width = step + 1 < plan.Steps.Count ? plan.Steps[step + 1].Features : s.Features;
        return s.To switch
        {
            { Axis: ShardAxis.Features } => (t, EvenRanges.Length(width, p, rank)), // the LM head's vocabulary ranges may be uneven
            { Axis: ShardAxis.Tokens } => (EvenRanges.Length(t, p, rank), width),
            { Kind: PlacementKind.Grid2D } => (EvenRanges.Length(t, q, rank % q), width / q), // grid row rank % q
            { Axis: ShardAxis.Heads } => (t, plan.BlockShape(s.LayerIndex).LocalQkvWidth),
            _ => (t, width), // host, replicated, partial sums: the whole tensor
        };
    }

    /// <summary>"[128×1024]": rows × columns, invariant digits.</summary>
    public static string Text((int Rows, int Cols) shape) =>
        string.Create(CultureInfo.InvariantCulture, $"[{shape.Rows}×{shape.Cols}]");
}
