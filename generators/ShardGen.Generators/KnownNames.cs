using Microsoft.CodeAnalysis;
using ShardGen.Planning;

namespace ShardGen.Generators;

/// <summary>Metadata names of the runtime types the generator and the analyzer look for.</summary>
internal static class KnownNames
{
    public const string Namespace = "ShardGen";

    public const string ShardedModelAttributeName = "ShardedModelAttribute";
    public const string ColumnParallelAttributeName = "ColumnParallelAttribute";
    public const string RowParallelAttributeName = "RowParallelAttribute";
    public const string Summa2DAttributeName = "Summa2DAttribute";
    public const string TransformerBlockAttributeName = "TransformerBlockAttribute";

    public const string Linear = Namespace + ".Linear";
    public const string TransformerBlock = Namespace + ".TransformerBlock";

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
    /// (as <c>ForAttributeWithMetadataName</c> does) without building a string: one comparison of the type's
    /// own name, and the namespace checked only for the four candidates.
    /// </summary>
    public static ParallelStrategy? StrategyOf(AttributeData attribute) =>
        attribute.AttributeClass is { } type ? StrategyOf(type) : null;

    /// <summary>The strategy of a layer attribute class of ShardGen's, or null for any other type.</summary>
    public static ParallelStrategy? StrategyOf(INamedTypeSymbol type)
    {
        ParallelStrategy strategy;
        switch (type.MetadataName)
        {
            case ColumnParallelAttributeName: strategy = ParallelStrategy.ColumnParallel; break;
            case RowParallelAttributeName: strategy = ParallelStrategy.RowParallel; break;
            case Summa2DAttributeName: strategy = ParallelStrategy.Summa2D; break;
            case TransformerBlockAttributeName: strategy = ParallelStrategy.TransformerBlock; break;
            default: return null;
        }
        return IsShardGenType(type) ? strategy : null;
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
        return name is "ShardedModel" or "ColumnParallel" or "RowParallel" or "Summa2D" or "TransformerBlock" ? name : null;
    }

    /// <summary>The attribute's name as written without the suffix: "ColumnParallel", "TransformerBlock", ….</summary>
    public static string ShortName(ParallelStrategy strategy) => strategy switch
    {
        ParallelStrategy.ColumnParallel => "ColumnParallel",
        ParallelStrategy.RowParallel => "RowParallel",
        ParallelStrategy.Summa2D => "Summa2D",
        _ => "TransformerBlock",
    };

    /// <summary>A resolved top-level type of the namespace <c>ShardGen</c> (not nested, not an error type).</summary>
    public static bool IsShardGenType(INamedTypeSymbol type) =>
        type.TypeKind != TypeKind.Error && type.ContainingType is null
        && type.ContainingNamespace is { Name: Namespace, ContainingNamespace.IsGlobalNamespace: true };
}
