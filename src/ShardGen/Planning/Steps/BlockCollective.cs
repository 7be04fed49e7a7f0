namespace ShardGen.Planning.Steps;

/// <summary>Words for a collective inside a transformer block: which of its two, and of which half.</summary>
internal static class BlockCollective
{
    /// <summary>"#1 of 2 in Block0".</summary>
    public static string Of(StepContext c, (int Layer, int Ordinal) inBlock) =>
        $"#{PlanText.N(inBlock.Ordinal)} of 2 in {c.Layers[inBlock.Layer].Name}";

    /// <summary>"attention output" or "MLP down".</summary>
    public static string Half((int Layer, int Ordinal) inBlock) => inBlock.Ordinal == 1 ? "attention output" : "MLP down";
}
