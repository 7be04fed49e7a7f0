using Microsoft.CodeAnalysis;
using ShardGen.Generators.Parsing;
using ShardGen.Planning;

namespace ShardGen.Generators;

/// <summary>Metadata names of the runtime types the generator and the analyzer look for.</summary>
internal static class KnownNames
{
    public const string Namespace = "ShardGen";

    /// <summary>The attributes' names are in <see cref="AttributeTable"/>.</summary>
    public static string ShardedModelAttributeName => AttributeTable.ShardedModel.MetadataName;

    /// <summary>The first <c>[ShardedModel]</c> on <paramref name="type"/>, or null when it is not a model.</summary>
    public static AttributeData? ShardedModelAttributeOf(INamedTypeSymbol type)
    {
        foreach (var attribute in type.GetAttributes())
            if (attribute.AttributeClass is { } attributeType && attributeType.MetadataName == ShardedModelAttributeName
                && IsShardGenType(attributeType))
                return attribute;
        return null;
    }

    /// <summary>
    /// The strategy a layer attribute declares, or null for any other attribute. Matches by metadata name
    /// (as <c>ForAttributeWithMetadataName</c> does) without building a string: comparisons of the type's
    /// own name, and the namespace checked only for a match.
    /// </summary>
    public static ParallelStrategy? StrategyOf(AttributeData attribute) =>
        attribute.AttributeClass is { } type ? StrategyOf(type) : null;

    /// <summary>The strategy of a layer attribute class of ShardGen's (one of <see cref="AttributeTable.Layers"/>), or null for any other type.</summary>
    public static ParallelStrategy? StrategyOf(INamedTypeSymbol type)
    {
        foreach (var layer in AttributeTable.Layers)
            if (type.MetadataName == layer.MetadataName)
                return IsShardGenType(type) ? layer.Strategy : null;
        return null;
    }

    /// <summary>
    /// For an attribute class that is not ShardGen's but is named like one of its attributes (a user's
    /// <c>ColumnParallelAttribute</c> that <c>[ColumnParallel]</c> now binds to): the name as written without the
    /// suffix, "ColumnParallel"; null for ShardGen's own attributes and for unrelated ones.
    /// </summary>
    public static string? ShadowedAttributeName(INamedTypeSymbol? type)
    {
        if (type is null || type.TypeKind == TypeKind.Error || IsShardGenType(type)) return null;
        string name = type.Name.EndsWith("Attribute", System.StringComparison.Ordinal) ? type.Name.Substring(0, type.Name.Length - 9) : type.Name;
        return AttributeTable.IsShortName(name) ? name : null;
    }

    /// <summary>The attribute's name as written without the suffix: "ColumnParallel", "TransformerBlock", ….</summary>
    public static string ShortName(ParallelStrategy strategy) => AttributeTable.Layer(strategy).ShortName;

    /// <summary>A resolved top-level type of the namespace <c>ShardGen</c> (not nested, not an error type).</summary>
    public static bool IsShardGenType(INamedTypeSymbol type) =>
        type.TypeKind != TypeKind.Error && type.ContainingType is null
        && type.ContainingNamespace is { Name: Namespace, ContainingNamespace.IsGlobalNamespace: true };
}
