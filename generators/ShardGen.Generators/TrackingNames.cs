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

    /// <summary>Layer attributes outside a [ShardedModel] class (one stage per attribute).</summary>
    public const string OrphanColumnParallel = nameof(OrphanColumnParallel);
    public const string OrphanRowParallel = nameof(OrphanRowParallel);
    public const string OrphanSumma2D = nameof(OrphanSumma2D);
    public const string OrphanTransformerBlock = nameof(OrphanTransformerBlock);
}
