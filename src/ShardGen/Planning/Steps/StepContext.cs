using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// One step of a plan with what its words need: the plan around it, the layers, the variable names of the generated
/// Forward, and the shapes and byte formulas (<see cref="PlanText"/>, symbolic or for a fixed device count).
/// </summary>
internal sealed class StepContext
{
    public StepContext(IReadOnlyList<PlanStep> steps, int index, IReadOnlyList<LayerSpec> layers, PlanText text, string[]? variables = null)
    {
        Steps = steps;
        Index = index;
        Layers = layers;
        Text = text;
        Variables = variables ?? VariableNames(steps);
    }

    public IReadOnlyList<PlanStep> Steps { get; }

    /// <summary>The step's position in <see cref="Steps"/>.</summary>
    public int Index { get; }

    public PlanStep Step => Steps[Index];

    public IReadOnlyList<LayerSpec> Layers { get; }

    public PlanText Text { get; }

    /// <summary>The variable each step's output is held in, in the generated Forward.</summary>
    public string[] Variables { get; }

    /// <summary>Width of the activation the step reads.</summary>
    public int F => Step.Features;

    /// <summary><see cref="F"/> as the comments print it (named when config.json gives it at load).</summary>
    public string FText => PlanText.Size(F, FName);

    /// <summary>
    /// The name of the activation's width when config.json gives it at load: "vocab" for the LM head's logits,
    /// "hidden" for the others (a language model's activations between layers are its residual stream).
    /// </summary>
    public string FName
    {
        get
        {
            for (int k = Index - 1; k >= 0; k--)
                if (Steps[k].LayerIndex >= 0 && Steps[k].LayerIndex < Layers.Count)
                    return Layers[Steps[k].LayerIndex].Strategy == ParallelStrategy.LmHead ? "vocab" : "hidden";
            return "hidden";
        }
    }

    /// <summary>The step's layer (launches and epilogues), or null.</summary>
    public LayerSpec? Layer => Step.LayerIndex >= 0 && Step.LayerIndex < Layers.Count ? Layers[Step.LayerIndex] : null;

    /// <summary>The step's layer, which it must have.</summary>
    public string LayerName => Layer?.Name ?? "";

    /// <summary>The next layer launched after this step, or null at the end.</summary>
    public LayerSpec? Consumer
    {
        get
        {
            for (int j = Index + 1; j < Steps.Count; j++)
            {
                var s = Steps[j];
                if (s.Type.StartsLayer && s.LayerIndex >= 0 && s.LayerIndex < Layers.Count)
                    return Layers[s.LayerIndex];
            }
            return null;
        }
    }

    /// <summary>"Down (row-parallel)", or "" at the end.</summary>
    public string ConsumerText => Consumer is { } c ? $"{c.Name} ({c.StrategyText})" : "";

    /// <summary>True when the next step launches a layer.</summary>
    public bool NextIsLaunch => Index + 1 < Steps.Count && Steps[Index + 1].Type.IsLaunch;

    /// <summary>The type of the next step, if any.</summary>
    public StepType? Next => Index + 1 < Steps.Count ? Steps[Index + 1].Type : null;

    /// <summary>The layer whose output this step moves: the layer of the last step before it that has one.</summary>
    public string ProducerName
    {
        get
        {
            for (int k = Index - 1; k >= 0; k--)
                if (Steps[k].LayerIndex >= 0 && Steps[k].LayerIndex < Layers.Count) return Layers[Steps[k].LayerIndex].Name;
            return "the input";
        }
    }

    /// <summary>"X " when the step reads the model's input straight from the upload, else nothing.</summary>
    public string InputName => Index > 0 && Steps[Index - 1].Type.Call == StepCall.Upload ? "X " : "";

    /// <summary>The variable holding a residual add's residual stream (the output of its <see cref="PlanStep.ResidualStep"/>).</summary>
    public string ResidualVariable => Step.ResidualStep >= 0 && Step.ResidualStep < Variables.Length ? Variables[Step.ResidualStep] : "";

    /// <summary>
    /// For a collective inside a transformer block (the reduction after a row-parallel projection, or the token
    /// all-gather before a column-parallel one): the block and which of its two halves (1 attention, 2 MLP).
    /// </summary>
    public (int Layer, int Ordinal)? InBlock
    {
        get
        {
            int k = Index;
            if (!Steps[k].Type.IsCollective) return null;
            // After a block's row-parallel projection (its partial sums), or before its column-parallel one.
            if (k > 0 && Steps[k - 1].Type is { BlockHalf: > 0, Output.Kind: PlacementKind.Partial } before)
                return (Steps[k - 1].LayerIndex, before.BlockHalf);
            if (k + 1 < Steps.Count && Steps[k + 1].Type is { BlockHalf: > 0, AcceptsAnyInput: false, Input.Kind: PlacementKind.Replicated } after)
                return (Steps[k + 1].LayerIndex, after.BlockHalf);
            return null;
        }
    }

    /// <summary>The transformer block this step belongs to or sits inside, or null.</summary>
    public LayerSpec? Block => InBlock is { } b ? Layers[b.Layer] : Layer?.Block is not null ? Layer : null;

    /// <summary>This step's bytes for <paramref name="tokens"/> tokens, all devices together (0 unless the device count is fixed).</summary>
    private long TotalBytes(int tokens) => Text.Fixed
        ? Step.Type.TotalBytes(new StepSizes(Step, Layer, Text.Devices, tokens))
        : 0;

    /// <summary>The step's bytes per device in words: "<paramref name="symbolic"/> · T·F·4 B per device", evaluated when P is fixed.</summary>
    public string Bytes(string symbolic, bool needsGrid = false) => Text.PerDevice(symbolic, TotalBytes(1), F, needsGrid, FName);

    /// <summary>A SUMMA launch's panel traffic in words, evaluated when the grid is fixed.</summary>
    public string SummaBytes() => Text.SummaBytes(Layer!, TotalBytes(1) - TotalBytes(0), TotalBytes(0));

    /// <summary>
    /// The variable each step's output is held in: a0, a1, … in plan order for steps that produce a tensor;
    /// in-place steps (and the download) name the tensor they work on.
    /// </summary>
    public static string[] VariableNames(IReadOnlyList<PlanStep> steps)
    {
        var names = new string[steps.Count];
        int next = 0;
        for (int k = 0; k < steps.Count; k++)
        {
            if (steps[k].InStack && (k == 0 || !steps[k - 1].InStack))
            {
                // The residual stream entering a stack's loop is the loop's variable: each block reads it and leaves its
                // output in it for the next block.
                int producer = PlacementPlanner.Producer(steps, k - 1);
                for (int j = producer; j < k; j++) names[j] = StreamVariable;
            }
            names[k] = steps[k].Type.IsInPlace || steps[k].Type.Call == StepCall.Download
                ? (k > 0 ? (steps[k - 1].InStack && !steps[k].InStack ? StreamVariable : names[k - 1]) : "")
                : $"a{PlanText.N(next++)}";
        }
        return names;
    }

    /// <summary>The generated Forward's variable for the residual stream around a stack's loop.</summary>
    public const string StreamVariable = "stream";
}
