using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// SUMMA on the q×q grid: blocks of X · blocks of W → blocks of Y, epilogue fused. A·B broadcasts X panels along grid
/// rows and W panels along grid columns; A·Bᵀ (W stored [out, in]) broadcasts W panels and reduces Y panels.
/// </summary>
internal sealed class Summa2D : LaunchStep
{
    public override Placement Input => Placement.Grid2D;
    public override Placement Output => Placement.Grid2D;
    public override string Method => nameof(IStepMethods.Summa2D);
    public override bool Communicates => true;
    public override StepBackward Backward { get; } =
        new(BackwardOp.TransposedProducts, "the activation's derivative from the kept pre-activation; on the same grid, dX = dY·Wᵀ by SUMMA A·Bᵀ ([in, out] weights; A·B for [out, in]) and dW by SUMMA Aᵀ·B; dBias = Σ_t dY all-reduced along grid columns",
            nameof(IBackwardStepMethods.Summa2DBackward), BackwardCall.Gradient);

    private static bool Transposed(LayerSpec layer) => layer.WeightLayout == WeightLayout.OutIn;

    public override long TotalBytes(StepSizes s) => s.Layer is { } l
        ? PlanCost.SummaTotalBytes(Transposed(l), s.Q, s.Tokens, l.OutFeatures, l.InFeatures)
        : 0;

    /// <summary>A·B: q steps × (q row + q column broadcasts). A·Bᵀ: q steps × (q column broadcasts + q row reduces).</summary>
    public override int Calls(CollectiveOp op, StepSizes s)
    {
        if (s.Layer is not { } l) return 0;
        int q = s.Q;
        return op switch
        {
            CollectiveOp.Broadcast => Transposed(l) ? q * q : 2 * q * q,
            CollectiveOp.Reduce => Transposed(l) ? q * q : 0,
            _ => 0,
        };
    }

    /// <summary>
    /// The backward's SUMMAs on the grid: dX [T, in] = dY·Wᵀ (A·Bᵀ; A·B for [out, in] weights), dW by Aᵀ·B (A panels
    /// broadcast along grid rows, C panels reduced along grid columns), and the bias gradient's all-reduce in each grid column.
    /// </summary>
    public override long BackwardTotalBytes(StepSizes s)
    {
        if (s.Layer is not { } l) return 0;
        int q = s.Q;
        long t = s.Tokens, input = l.InFeatures, output = l.OutFeatures;
        long dx = PlanCost.SummaTotalBytes(!Transposed(l), q, t, input, output);
        var (m, n) = Transposed(l) ? (output, input) : (input, output);
        long dw = (q - 1) * (m * t + m * n) * PlanCost.BytesPerElement;
        long bias = l.HasBias ? q * PlanCost.RingAllReduce(q, output / q) : 0;
        return dx + dw + bias;
    }

    public override int BackwardCalls(CollectiveOp op, StepSizes s)
    {
        if (s.Layer is not { } l) return 0;
        int q = s.Q;
        return op switch
        {
            // dX: A·Bᵀ is q·q broadcasts and q·q reduces, A·B 2·q·q broadcasts; dW's Aᵀ·B q·q of each.
            CollectiveOp.Broadcast => (Transposed(l) ? 2 * q * q : q * q) + q * q,
            CollectiveOp.Reduce => (Transposed(l) ? 0 : q * q) + q * q,
            CollectiveOp.AllReduce => l.HasBias ? q : 0,
            _ => 0,
        };
    }

    /// <summary>q rounds of a row and a column broadcast.</summary>
    public override int LatencySteps(StepSizes s) => s.Devices == 1 ? 0 : 2 * s.Q;

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        bool outIn = Transposed(layer);
        string inQ = c.Text.OverQ(layer.InFeatures), outQ = c.Text.OverQ(layer.OutFeatures);
        string wText = outIn ? $"Wᵀ blocks (W [{outQ}, {inQ}])" : $"W blocks [{inQ}, {outQ}]";
        yield return $"{layer.Name} (Summa2D, {(outIn ? "A·Bᵀ" : "A·B")} on the {c.Text.Grid} grid): {c.InputName}blocks [{c.Text.TokenBlock}, {inQ}] · {wText} → [{c.Text.TokenBlock}, {outQ}] per device; {PlanText.FusedEpilogue(layer)}.";
        yield return outIn
            ? $"SUMMA broadcasts W panels along grid columns and reduces output panels along grid rows: {c.SummaBytes()}."
            : $"SUMMA broadcasts input panels along grid rows and W panels along grid columns: {c.SummaBytes()}.";
        if (c.NextIsLaunch && c.Consumer is { } consumer)
            yield return $"No collective: {consumer.Name} takes these blocks as they are.";
    }

    public override string? Summary(StepContext c)
    {
        var layer = c.Layer!;
        return $"SUMMA panel broadcasts{(Transposed(layer) ? " and reduces" : "")} inside {layer.Name}: {c.SummaBytes()}.";
    }
}
