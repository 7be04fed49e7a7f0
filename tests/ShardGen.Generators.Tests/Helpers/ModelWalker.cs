using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;

namespace ShardGen.Generators.Tests.Helpers;

/// <summary>
/// Walks a pipeline value through its fields (auto-properties included), tuples and collections, and
/// returns the path of the first compiler object found: any of these keeps a compilation alive and
/// defeats caching.
/// </summary>
public static class ModelWalker
{
    public static string? FindForbidden(object? value, string path = "output") =>
        Walk(value, path, new HashSet<object>(ReferenceEqualityComparer.Instance));

    private static string? Walk(object? value, string path, HashSet<object> visited)
    {
        if (value is null) return null;
        var type = value.GetType();
        if (value is ISymbol or SyntaxNode or SyntaxTree or Compilation or SemanticModel or Location or SyntaxReference
            or MetadataReference or CompilationOptions or ParseOptions)
            return $"{path}: {type.Name}";
        if (type.IsPrimitive || type.IsEnum || value is string || value is decimal) return null;
        if (!type.IsValueType && !visited.Add(value)) return null;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>)
            && (bool)type.GetProperty("IsDefault")!.GetValue(value)!)
            return null;

        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items)
                if (Walk(item, $"{path}[{i++}]", visited) is { } found) return found;
            if (type.IsArray) return null;
        }
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (Walk(field.GetValue(value), $"{path}.{field.Name}", visited) is { } found) return found;
        }
        return null;
    }
}
