namespace ShardGen.Generators.Models;

/// <summary>
/// What parsing one [ShardedModel] class yields: the model when it can be emitted (no errors), and the
/// diagnostics. The pipeline splits the two right away, so the emitted model never carries diagnostics.
/// </summary>
internal sealed record ModelParseResult(ModelSpec? Model, EquatableArray<DiagnosticInfo> Diagnostics)
{
    public static readonly ModelParseResult Empty = new(null, EquatableArray<DiagnosticInfo>.Empty);
}
