using System.Globalization;
using ShardGen.Planning;

namespace ShardGen.Diagrams;

/// <summary>
/// The activation [tokens × features] each device holds after a plan step, read from the step's output layout
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
        return s.To.Layout switch
        {
            TensorLayout.ColumnSharded => (t, EvenRanges.Length(width, p, rank)), // the LM head's vocabulary ranges may be uneven
            TensorLayout.TokenSharded => (EvenRanges.Length(t, p, rank), width),
            TensorLayout.Blocks2D => (EvenRanges.Length(t, q, rank % q), width / q), // grid row rank % q
            TensorLayout.Heads => (t, plan.BlockShape(s.LayerIndex).LocalQkvWidth),
            _ => (t, width), // host, replicated, partial sums: the whole tensor
        };
    }

    /// <summary>"[128×1024]": rows × columns, invariant digits.</summary>
    public static string Text((int Rows, int Cols) shape) =>
        string.Create(CultureInfo.InvariantCulture, $"[{shape.Rows}×{shape.Cols}]");
}
