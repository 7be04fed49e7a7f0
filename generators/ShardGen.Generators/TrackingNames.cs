namespace ShardGen.Generators;

/// <summary>Names of the pipeline's stages, so tests can inspect each one (cacheability).</summary>
internal static class TrackingNames
{
    /// <summary>
    /// Class declarations with attributes, as syntax nodes compared by identity (what lets the next stage skip
    /// unchanged files). With <see cref="FileSyntax"/> and <see cref="CompilationInputs"/>, the only stages that
    /// hold compiler objects, deliberately.
    /// </summary>
    public const string ClassSyntax = nameof(ClassSyntax);

    /// <summary>Each file's compilation unit, as a syntax node compared by identity.</summary>
    public const string FileSyntax = nameof(FileSyntax);

    /// <summary>The merged <see cref="Models.SourceFacts"/> of all files.</summary>
    public const string SourceFacts = nameof(SourceFacts);

    /// <summary>References, options and parse options, compared by identity and value.</summary>
    public const string CompilationInputs = nameof(CompilationInputs);

    /// <summary>The scopes where ShardGen's names bind to ShardGen's types (<see cref="Parsing.ScopeCheck"/>).</summary>
    public const string ScopeCheck = nameof(ScopeCheck);

    /// <summary>Classes with attributes, read from syntax (<see cref="Parsing.SyntacticModelReader"/>).</summary>
    public const string Candidates = nameof(Candidates);

    /// <summary>The verdict on which syntactic readings hold (<see cref="Parsing.SyntacticCheck"/>).</summary>
    public const string SyntacticCheck = nameof(SyntacticCheck);

    /// <summary>Models whose syntactic reading holds, as model plus diagnostics.</summary>
    public const string SyntacticParseModel = nameof(SyntacticParseModel);

    /// <summary>The other [ShardedModel] classes, parsed with the semantic model into a model plus diagnostics.</summary>
    public const string ParseModel = nameof(ParseModel);

    /// <summary>The models without errors, ready to emit.</summary>
    public const string Models = nameof(Models);

    /// <summary>The diagnostics of each model.</summary>
    public const string ModelDiagnostics = nameof(ModelDiagnostics);

    /// <summary>Properties with a layer attribute in a type declaration without [ShardedModel] (<see cref="Parsing.OrphanLayerCheck"/>).</summary>
    public const string OrphanCandidates = nameof(OrphanCandidates);

    /// <summary>SHARD020 for each orphan candidate, bound with the compilation.</summary>
    public const string OrphanDiagnostics = nameof(OrphanDiagnostics);
}
