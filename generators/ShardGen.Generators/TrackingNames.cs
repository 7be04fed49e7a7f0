namespace ShardGen.Generators;

/// <summary>Names of the pipeline's stages, so tests can inspect each one (cacheability).</summary>
internal static class TrackingNames
{
    /// <summary>[ShardedModel] classes parsed into a model plus diagnostics.</summary>
    public const string ParseModel = nameof(ParseModel);

    /// <summary>The models without errors, ready to emit.</summary>
    public const string Models = nameof(Models);

    /// <summary>The diagnostics of each model.</summary>
    public const string ModelDiagnostics = nameof(ModelDiagnostics);
}
