using Microsoft.CodeAnalysis.Text;

namespace ShardGen.Generators.Models;

/// <summary>How a class declaration with attributes relates to [ShardedModel], as far as its syntax tells.</summary>
internal enum CandidateKind
{
    /// <summary>One of its attributes is spelled ShardedModel or ShardedModelAttribute.</summary>
    Model,

    /// <summary>None is, but a using alias is in scope, so one of them might still be [ShardedModel].</summary>
    MaybeAliased,

    /// <summary>None is and no alias of this file can make it one; only a global alias could.</summary>
    Other,
}

/// <summary>
/// A class declaration that may be a model, found from syntax alone: where it is (file and span, to find it
/// again in a compilation) and, when its syntax is simple enough to read without binding, the model read that
/// way (<see cref="Syntactic"/>). Plain values, so the stage that makes them is cached per file.
/// </summary>
internal sealed record ModelCandidate(string FilePath, TextSpan Span, CandidateKind Kind, SyntacticModel? Syntactic);

/// <summary>
/// A model read from syntax. It holds only if the names it relies on bind to ShardGen's types where the class
/// is declared (checked once per <see cref="ScopeKey"/>: the usings and namespaces around it) and the class has
/// no other declaration (checked by <see cref="MetadataName"/>); <see cref="Parsing.SyntacticCheck"/> checks both.
/// </summary>
internal sealed record SyntacticModel(string MetadataName, string ScopeKey, ModelParseResult Result);

/// <summary>
/// The check of the models read from syntax (<see cref="Parsing.SyntacticCheck"/>): the metadata names whose syntactic reading
/// holds, sorted, and whether a global using alias exists (then every attributed class needs the semantic parser).
/// </summary>
internal sealed record SyntacticVerdict(EquatableArray<string> Verified, bool GlobalAliases)
{
    public static readonly SyntacticVerdict None = new(EquatableArray<string>.Empty, false);

    /// <summary>True when <paramref name="model"/>'s syntactic reading was verified.</summary>
    public bool Holds(SyntacticModel? model) => model is not null && Verified.SortedContains(model.MetadataName);
}
